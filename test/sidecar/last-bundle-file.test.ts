/**
 * The bundle a sidecar keeps for restarts: written whole, read back only when
 * it still matches its digest; a damaged one is not enforced (the sidecar
 * stays without a bundle, failing closed, and says why).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createServer } from 'node:net';
import { buildBundle } from '../../src/controller/bundles/build-bundle.ts';
import { writeBundleArchive } from '../../src/policy/bundle-archive.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { BundleClient } from '../../src/sidecar/bundle-client.ts';
import { readLastBundle, saveLastBundle } from '../../src/sidecar/last-bundle-file.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { isPortcullisError } from '../../src/errors.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createBundleSigner, parseBundleVerificationKeys } from '../../src/policy/bundle-signing.ts';
import { until } from '../support/until.ts';

async function archive(): Promise<{ digest: string; bytes: Uint8Array }> {
  const o = await buildBundle(policyBundle('b', 'ns').spec, new PortcullisCompiler());
  assert.ok(o.ok);
  return { digest: o.bundle.digest, bytes: await writeBundleArchive(o.bundle) };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('kept and read back whole, with its digest checked; no file is no bundle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-kept-'));
  const { digest, bytes } = await archive();
  await saveLastBundle(join(dir, 'sub', 'last-bundle.tar.gz'), bytes);
  assert.equal((await readLastBundle(join(dir, 'sub', 'last-bundle.tar.gz')))?.digest, digest);
  assert.equal(await readLastBundle(join(dir, 'none')), undefined);
});

test('a damaged kept bundle is refused: the sidecar stays without one and says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-kept-'));
  const file = join(dir, 'last-bundle.tar.gz');
  const { bytes } = await archive();
  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 20] ^= 0xff;
  writeFileSync(file, damaged);
  await assert.rejects(readLastBundle(file), (e) => isPortcullisError(e));
  const lines: any[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  const engine = new OpaWasmEngine();
  const client = new BundleClient({ controllerUrl: `http://127.0.0.1:${await closedPort()}`, bundle: 'ns/b', engine, logger, lastBundleFile: file, initialBackoffMs: 20 });
  client.start();
  try {
    await until(() => lines.some((l) => /the kept bundle cannot be used/.test(l.msg)), 'the kept bundle refused');
    assert.ok(lines.some((l) => /the kept bundle cannot be used; no bundle until the controller answers/.test(l.msg)));
    assert.equal(engine.current(), undefined);
    assert.equal(client.enforcingKeptBundle(), undefined);
    assert.deepEqual(readFileSync(file), damaged, 'left as found');
  } finally {
    await client.stop();
  }
});

test('with keys, a kept bundle is enforced only when signed by one of them: one written to the volume unsigned or by another key is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-kept-'));
  const o = await buildBundle(policyBundle('b', 'ns').spec, new PortcullisCompiler());
  assert.ok(o.ok);
  const ours = generateKeyPairSync('ed25519');
  const keys = parseBundleVerificationKeys(ours.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'PORTCULLIS_BUNDLE_PUBLIC_KEY');
  const signedBy = (k: KeyObject) => writeBundleArchive(o.bundle, { signer: createBundleSigner(k.export({ type: 'pkcs8', format: 'pem' }).toString()) });
  const file = join(dir, 'last-bundle.tar.gz');
  await saveLastBundle(file, await signedBy(ours.privateKey));
  assert.equal((await readLastBundle(file, keys))?.digest, o.bundle.digest);
  await saveLastBundle(file, await signedBy(generateKeyPairSync('ed25519').privateKey));
  await assert.rejects(readLastBundle(file, keys), (e) => isPortcullisError(e) && e.code === 'PORTCULLIS_BUNDLE_SIGNATURE');
  await saveLastBundle(file, await writeBundleArchive(o.bundle));
  await assert.rejects(readLastBundle(file, keys), (e) => isPortcullisError(e) && e.code === 'PORTCULLIS_BUNDLE_SIGNATURE');
  // The sidecar then stays without a bundle (failing closed) and says why.
  const lines: any[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  const engine = new OpaWasmEngine();
  const client = new BundleClient({ controllerUrl: `http://127.0.0.1:${await closedPort()}`, bundle: 'ns/b', engine, logger, lastBundleFile: file, initialBackoffMs: 20, verificationKeys: keys });
  client.start();
  try {
    await until(() => lines.some((l) => /the kept bundle cannot be used/.test(l.msg)), 'the kept bundle refused');
    assert.ok(lines.some((l) => /the kept bundle cannot be used/.test(l.msg) && /not signed/.test(l.err)));
    assert.equal(engine.current(), undefined);
  } finally {
    await client.stop();
  }
});
