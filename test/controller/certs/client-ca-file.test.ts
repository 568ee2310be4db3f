/**
 * The approval proxy's CA file (client-ca-file.ts, on mounted-files.ts): read at start (an
 * unreadable one stops start-up naming the setting), re-read on its interval
 * so a rotated CA is trusted without a restart, and a file caught halfway
 * keeps the CA loaded. Real files, real certificates; the listener's use of
 * the new CA over TLS is in test/e2e/controller-approval-proxy.test.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openClientCaFile } from '../../../src/controller/certs/client-ca-file.ts';
import { generateCertificateAuthority } from '../../../src/controller/certs/x509.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { isPortcullisError } from '../../../src/errors.ts';
import { until } from '../../support/until.ts';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-client-ca-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function logged(): { logger: ReturnType<typeof createLogger>; lines: any[] } {
  const lines: any[] = [];
  return { lines, logger: createLogger({ level: 'info', name: 'test', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } }) };
}

/** Replaces the file in one step, as the kubelet swaps a Secret volume. */
function swap(path: string, text: string): void {
  writeFileSync(path + '.next', text);
  renameSync(path + '.next', path);
}

test('a rotated CA is picked up on the interval; a file that holds no certificate keeps the loaded one and says so once', async () => {
  const path = join(dir, 'rotated.crt');
  const first = generateCertificateAuthority().certPem;
  const second = generateCertificateAuthority().certPem;
  writeFileSync(path, first);
  const { logger, lines } = logged();
  const ca = await openClientCaFile({ path, reloadMs: 20, logger });
  try {
    assert.equal(ca.current(), first);
    const changes: string[] = [];
    ca.onChange((pem) => changes.push(pem));
    swap(path, 'not a certificate\n');
    await until(() => lines.some((l) => /approval proxy CA files unreadable; keeping the one loaded/.test(l.msg)), 'the refusal logged');
    assert.equal(ca.current(), first);
    swap(path, second);
    await until(() => changes.length > 0, 'the new CA');
    assert.deepEqual(changes, [second]);
    assert.equal(ca.current(), second);
    assert.equal(lines.filter((l) => /unreadable/.test(l.msg)).length, 1, 'said once, not every interval');
  } finally {
    ca.stop();
  }
});

test('a CA file that cannot be read stops start-up with CONFIG naming PORTCULLIS_APPROVAL_PROXY_CA_FILE', async () => {
  const { logger } = logged();
  for (const path of [join(dir, 'missing.crt'), (writeFileSync(join(dir, 'empty.crt'), ''), join(dir, 'empty.crt'))]) {
    await assert.rejects(openClientCaFile({ path, reloadMs: 1000, logger }), (e) => isPortcullisError(e) && e.code === 'PORTCULLIS_CONFIG' && e.details?.setting === 'PORTCULLIS_APPROVAL_PROXY_CA_FILE');
  }
});
