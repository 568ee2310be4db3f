import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, logDecision } from '../../src/telemetry/logger.ts';
import { DEFAULT_REDACTED_HEADERS } from '../../src/gate/headers.ts';
import { isRedactedHeader } from '../../src/telemetry/redaction.ts';
import { loadConfig } from '../../src/config/config.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text, lines: () => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const SECRET = 'Bearer sk-live-very-secret';

describe('createLogger', () => {
  it('stamps each line with the ISO time of its millisecond', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-12-04T10:00:00.123Z') });
    const out = capture();
    const logger = createLogger({ destination: out.stream });
    logger.info('a');
    logger.info('b');
    t.mock.timers.tick(1);
    logger.info('c');
    t.mock.timers.tick(1000);
    logger.info('d');
    assert.deepEqual(out.lines().map((l) => l.time), ['2026-12-04T10:00:00.123Z', '2026-12-04T10:00:00.123Z', '2026-12-04T10:00:00.124Z', '2026-12-04T10:00:01.124Z']);
  });

  it('redacts secret headers wherever a headers object appears', () => {
    const out = capture();
    const logger = createLogger({ destination: out.stream });
    const headers = Object.fromEntries(DEFAULT_REDACTED_HEADERS.map((h) => [h, SECRET]));
    logger.info({ headers, req: { headers: { ...headers, accept: 'json' } }, input: { action: { http: { headers } } } }, 'request');
    logger.info({ call: { upstream: { request: { headers: { Authorization: SECRET, authorization: SECRET } } } } }, 'deep');
    assert.ok(!out.text().includes('sk-live-very-secret'), out.text());
    const [first] = out.lines();
    assert.equal((first!.req as { headers: Record<string, string> }).headers.accept, 'json');
    assert.equal((first!.headers as Record<string, string>)['x-api-key'], '[REDACTED]');
  });

  it('redacts the configured list (as the sidecar passes PORTCULLIS_REDACT_HEADERS), which the gate also hashes', () => {
    const out = capture();
    const config = loadConfig({ PORTCULLIS_REDACT_HEADERS: 'X-Tenant-Secret,authorization' });
    const logger = createLogger({ destination: out.stream, redactHeaders: config.redactHeaders });
    logger.info({ headers: { 'x-tenant-secret': SECRET, 'X-Amz-Security-Token': 'not-listed' } }, 'request');
    const [line] = out.lines();
    assert.deepEqual(line!.headers, { 'x-tenant-secret': '[REDACTED]', 'X-Amz-Security-Token': 'not-listed' });
    // The default list is the gate's one list, cloud provider keys included.
    for (const h of ['authorization', 'x-amz-security-token', 'anthropic-api-key']) assert.ok(DEFAULT_REDACTED_HEADERS.includes(h), h);
    assert.deepEqual(loadConfig({}).redactHeaders, DEFAULT_REDACTED_HEADERS);
  });

  it('logs one decision line at info with the trace ID and no input', () => {
    const out = capture();
    const logger = createLogger({ destination: out.stream, name: 'sidecar' });
    logDecision(logger, {
      decisionId: 'd-1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      tool: 'write_file',
      mode: 'enforce',
      effect: 'deny',
      enforcedEffect: 'deny',
      reason: 'writes to /prod are denied',
      bundle: 'default',
      policyDigest: 'sha256:' + 'a'.repeat(64),
      inputHash: 'sha256:' + 'b'.repeat(64),
      seq: 4,
    });
    const [line] = out.lines();
    assert.equal(line!.level, 'info');
    assert.equal(line!.event, 'decision');
    assert.equal(line!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(line!.name, 'sidecar');
    assert.equal(line!.msg, 'deny write_file: writes to /prod are denied');
    assert.equal(line!.input, undefined);
  });

  it('knows which headers are secret, in any case', () => {
    assert.equal(isRedactedHeader('Authorization'), true);
    assert.equal(isRedactedHeader('content-type'), false);
  });
});
