import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { echoBundle } from './echo-bundle.ts';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('evaluating before any load fails with POLICY_NO_BUNDLE', () => {
  assert.throws(() => new OpaWasmEngine().evaluate({}), code(ErrorCodes.POLICY_NO_BUNDLE));
});

test('the first entrypoint is the default; others are reached by name', async () => {
  const engine = new OpaWasmEngine();
  const bundle = echoBundle({ who: 'data' });
  await engine.load(bundle);
  assert.deepEqual(engine.evaluate({ a: 1 }), { result: { a: 1 }, digest: bundle.digest, entrypoint: 'echo/input' });
  assert.deepEqual(engine.evaluate({}, 'echo/data').result, { who: 'data' });
  assert.equal(engine.current(), bundle);
});

test('an undefined result and falsy inputs are kept apart', async () => {
  const engine = new OpaWasmEngine();
  await engine.load(echoBundle());
  assert.equal(engine.evaluate(undefined).result, undefined);
  for (const input of [false, 0, '', null]) assert.deepEqual(engine.evaluate(input).result, input);
});

test('large and non-ASCII inputs round-trip (memory grows as needed)', async () => {
  const engine = new OpaWasmEngine();
  await engine.load(echoBundle());
  const big = { text: 'x'.repeat(2_000_000), list: Array.from({ length: 20_000 }, (_, i) => ({ i })) };
  assert.deepEqual(engine.evaluate(big).result, big);
  const unicode = { s: 'zürich ✓ 𝄞 日本' };
  assert.deepEqual(engine.evaluate(unicode).result, unicode);
  assert.deepEqual(engine.evaluate({ small: 1 }).result, { small: 1 });
});

test('an input given with its JSON text is read from that text, not serialised again (the text the hash was made of)', async () => {
  const engine = new OpaWasmEngine();
  await engine.load(echoBundle());
  // Only a test gives a text that differs from its object: the policy reads the text.
  assert.deepEqual(engine.evaluate({ a: 1 }, undefined, '{"a":2}').result, { a: 2 });
  assert.deepEqual(engine.pin().evaluate({ a: 1 }, undefined, '{"a":3}').result, { a: 3 });
  assert.deepEqual(engine.evaluate({ a: 1 }).result, { a: 1 });
});

test('runtime errors map to POLICY_CONFLICT and POLICY_EVAL', async () => {
  const engine = new OpaWasmEngine();
  await engine.load(echoBundle());
  assert.throws(() => engine.evaluate({}, 'echo/conflict'), code(ErrorCodes.POLICY_CONFLICT));
  assert.throws(() => engine.evaluate({}, 'echo/error'), code(ErrorCodes.POLICY_EVAL));
  assert.throws(() => engine.evaluate({}, 'no/such'), code(ErrorCodes.POLICY_EVAL));
  // The instance still works after an aborted evaluation.
  assert.deepEqual(engine.evaluate({ ok: true }).result, { ok: true });
});

test('a bundle that fails to load never replaces the current one', async () => {
  const engine = new OpaWasmEngine();
  const good = echoBundle({ v: 'good' });
  await engine.load(good);
  const broken = { ...echoBundle({ v: 'broken' }), wasm: new Uint8Array([0, 97, 115, 109, 9, 9]) };
  await assert.rejects(engine.load(broken), code(ErrorCodes.BUNDLE_INVALID));
  const missing = echoBundle({ v: 'missing' }, ['portcullis/decision']);
  await assert.rejects(engine.load(missing), code(ErrorCodes.BUNDLE_INVALID));
  assert.equal(engine.current(), good);
  assert.deepEqual(engine.evaluate({}, 'echo/data').result, { v: 'good' });
});

test('swap is atomic under concurrent evaluation', async () => {
  const engine = new OpaWasmEngine();
  const a = echoBundle({ v: 'a' });
  const b = echoBundle({ v: 'b' });
  await engine.load(a);
  const seen: string[] = [];
  let loading = true;
  const evaluator = (async () => {
    while (loading) {
      const r = engine.evaluate({}, 'echo/data');
      const v = (r.result as { v: string }).v;
      // Result and digest always come from the same bundle.
      assert.equal(r.digest, v === 'a' ? a.digest : b.digest);
      seen.push(v);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  await new Promise((resolve) => setImmediate(resolve));
  await engine.load(b);
  assert.deepEqual(engine.evaluate({}, 'echo/data').result, { v: 'b' });
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  loading = false;
  await evaluator;
  assert.equal(seen[0], 'a');
  assert.ok(seen.includes('b'));
  // Once b is seen, a never comes back.
  assert.ok(!seen.slice(seen.indexOf('b')).includes('a'));
});

test('of two loads in flight, the one started last wins whatever order they finish in', async () => {
  const engine = new OpaWasmEngine();
  for (let i = 0; i < 5; i++) {
    const first = echoBundle({ round: i, which: 'first' });
    const second = echoBundle({ round: i, which: 'second' });
    await Promise.all([engine.load(first), engine.load(second)]);
    assert.equal(engine.current(), second);
    assert.deepEqual(engine.evaluate({}, 'echo/data').result, { round: i, which: 'second' });
  }
});
