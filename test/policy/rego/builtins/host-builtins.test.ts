// The host's builtins: time.now_ns as exact JSON text, fixed per evaluation.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createHostBuiltins } from '../../../../src/policy/rego/host-builtins.ts';

const text = (v: unknown): string => new TextDecoder().decode(new Uint8Array(v as ArrayBuffer));

it('time.now_ns is the clock, exact to the nanosecond, as JSON text', () => {
  let t = 1700000000123456789n;
  const host = createHostBuiltins(() => t++);
  const now = host.builtins['time.now_ns']!;
  assert.equal(text(now()), '1700000000123456789');
  assert.equal(text(now()), '1700000000123456790');
});

it('beginEvaluation fixes the instant for every call until the next evaluation', () => {
  let t = 10n;
  const host = createHostBuiltins(() => t++);
  const now = host.builtins['time.now_ns']!;
  host.beginEvaluation();
  assert.equal(text(now()), '10');
  assert.equal(text(now()), '10');
  host.beginEvaluation(42n);
  assert.equal(text(now()), '42');
  host.beginEvaluation();
  assert.equal(text(now()), '11');
});

it('rand.intn and uuid.rfc4122 are stable per arguments within an evaluation, fresh after the next', () => {
  const host = createHostBuiltins();
  const intn = host.builtins['rand.intn']!;
  const uuid = host.builtins['uuid.rfc4122']!;
  host.beginEvaluation();
  const n = intn('k', 1_000_000_000) as number;
  assert.ok(Number.isInteger(n) && n >= 0 && n < 1_000_000_000);
  assert.equal(intn('k', 1_000_000_000), n);
  assert.equal(intn('k', 0), 0);
  const u = uuid('a') as string;
  assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(uuid('a'), u);
  assert.notEqual(uuid('b'), u);
  host.beginEvaluation();
  assert.notEqual(uuid('a'), u);
  assert.throws(() => intn(1, 2), /operand 1 must be string/);
});

it('opa.runtime exposes no environment: the empty object OPA gives without runtime information', () => {
  assert.deepEqual(createHostBuiltins().builtins['opa.runtime']!(), {});
});
