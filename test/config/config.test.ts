import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, settingNames } from '../../src/config/config.ts';
import { ErrorCodes } from '../../src/errors.ts';

test('defaults need no environment, and the result is frozen deeply', () => {
  const c = loadConfig({});
  assert.equal(c.mode, 'enforce');
  assert.equal(c.listenHost, '127.0.0.1');
  assert.equal(c.bodyLimitBytes, 1048576);
  assert.equal(c.ledgerDurability, 'fsync', 'a call waits for its intent on stable storage unless told otherwise');
  assert.ok(c.redactHeaders.includes('authorization'));
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.agent) && Object.isFrozen(c.redactHeaders));
  assert.throws(() => ((c as any).mode = 'observe'));
});

test('environment variables set values; flags override them', () => {
  const env = { PORTCULLIS_MODE: 'Observe', PORTCULLIS_PORT: '9000', PORTCULLIS_POD_LABELS: '{"app":"agent"}', PORTCULLIS_REDACT_HEADERS: 'X-Key, cookie', PORTCULLIS_LEDGER_DURABILITY: 'write', PORTCULLIS_LEDGER_SYNC_INTERVAL_MS: '50' };
  const c = loadConfig(env, { port: '9100' });
  assert.equal(c.mode, 'observe');
  assert.equal(c.port, 9100);
  assert.deepEqual(c.agent.labels, { app: 'agent' });
  assert.deepEqual(c.redactHeaders, ['x-key', 'cookie']);
  assert.equal(c.ledgerDurability, 'write');
  assert.equal(c.ledgerSyncIntervalMs, 50);
});

test('an invalid setting stops start-up naming the variable or the flag', () => {
  const bad: Array<[Record<string, string>, Record<string, string>, string]> = [
    [{ PORTCULLIS_PORT: 'http' }, {}, 'PORTCULLIS_PORT'],
    [{ PORTCULLIS_MODE: 'audit' }, {}, 'PORTCULLIS_MODE'],
    [{ PORTCULLIS_LEDGER_DURABILITY: 'never' }, {}, 'PORTCULLIS_LEDGER_DURABILITY'],
    [{ PORTCULLIS_LEDGER_SYNC_INTERVAL_MS: '0' }, {}, 'PORTCULLIS_LEDGER_SYNC_INTERVAL_MS'],
    [{ PORTCULLIS_BODY_LIMIT_BYTES: '0' }, {}, 'PORTCULLIS_BODY_LIMIT_BYTES'],
    [{ PORTCULLIS_POD_LABELS: '[1]' }, {}, 'PORTCULLIS_POD_LABELS'],
    [{}, { adminPort: '70000' }, '--admin-port'],
    [{ PORTCULLIS_PORT: '8000', PORTCULLIS_ADMIN_PORT: '8000' }, {}, 'PORTCULLIS_ADMIN_PORT'],
  ];
  for (const [env, flags, name] of bad) {
    assert.throws(() => loadConfig(env, flags), (e: any) => e.code === ErrorCodes.CONFIG && e.details.setting === name && e.message.includes(name), name);
  }
});

test('every variable is prefixed PORTCULLIS_', () => {
  for (const n of settingNames()) assert.match(n, /^PORTCULLIS_[A-Z_]+$/);
});

test('PORTCULLIS_EVAL_TIMEOUT_MS is refused, naming what replaced it: wall-clock time no longer decides', () => {
  assert.throws(
    () => loadConfig({ PORTCULLIS_EVAL_TIMEOUT_MS: '100' }),
    (e: any) => e.code === ErrorCodes.CONFIG && /PORTCULLIS_POLICY_MAX_STEPS/.test(e.message) && /PORTCULLIS_EVAL_SLOW_MS/.test(e.message),
  );
  assert.equal(loadConfig({ PORTCULLIS_EVAL_SLOW_MS: '250' }).evalSlowMs, 250);
});
