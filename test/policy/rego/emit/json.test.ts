import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { addResult, block, load, loadRaw, local, policy } from './ir-builders.ts';

// A plan that echoes its input: [{"result": input}].
const echo = policy(['result'], [{ name: 'echo', blocks: [block(...addResult(0, 2, 0))] }]);

describe('JSON through the runtime', () => {
  let raw: (json: string) => string;
  before(async () => {
    raw = await loadRaw(echo);
  });

  it('keeps integers beyond 2^53 and number literals exactly as written', () => {
    assert.equal(raw('123456789012345678901234567890'), '[{"result":123456789012345678901234567890}]');
    assert.equal(raw('[9007199254740993, -9223372036854775808, 1.50, 1e3, 0.1]'), '[{"result":[9007199254740993,-9223372036854775808,1.50,1e3,0.1]}]');
  });

  it('decodes unicode escapes and surrogate pairs, and escapes control characters', () => {
    assert.equal(raw('"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/"'), `[{"result":"é😀\\n\\t\\"\\\\/"}]`);
    assert.equal(raw('"\\u0001"'), '[{"result":"\\u0001"}]');
  });

  it('sorts object keys in OPA order and keeps the last duplicate key', () => {
    assert.equal(raw('{"b": 1, "a": {"z": [], "y": null}, "b": 2}'), '[{"result":{"a":{"y":null,"z":[]},"b":2}}]');
  });

  it('rejects malformed JSON input with an error', () => {
    assert.throws(() => raw('{"a": }'), /input is not valid JSON/);
    assert.throws(() => raw('[1, 2'), /input is not valid JSON/);
  });

  it('round-trips nested values through the SDK, falsy inputs included', async () => {
    const p = await load(echo);
    const value = { s: 'ünïcödé ✓', n: [0, -1, 2.5, 1e-7], nested: [[{ a: [true, false, null] }]], empty: { o: {}, a: [] } };
    assert.deepEqual(p.evaluate(value), [{ result: value }]);
    assert.deepEqual(p.evaluate(false), [{ result: false }]);
    assert.deepEqual(p.evaluate(0), [{ result: 0 }]);
    assert.deepEqual(p.evaluate(''), [{ result: '' }]);
  });

  it('dumps nested sets as sorted arrays', async () => {
    const strings = ['result', 'b', 'a'];
    const plan = block(
      { type: 'MakeSetStmt', stmt: { target: 2 } },
      { type: 'MakeSetStmt', stmt: { target: 3 } },
      { type: 'SetAddStmt', stmt: { value: { type: 'string_index', value: 1 }, set: 3 } },
      { type: 'SetAddStmt', stmt: { value: { type: 'string_index', value: 2 }, set: 3 } },
      { type: 'SetAddStmt', stmt: { value: local(3), set: 2 } },
      { type: 'SetAddStmt', stmt: { value: { type: 'string_index', value: 1 }, set: 2 } },
      ...addResult(2, 4, 0),
    );
    const p = await load(policy(strings, [{ name: 'p', blocks: [plan] }]));
    assert.deepEqual(p.evaluate({}), [{ result: ['b', ['a', 'b']] }]);
  });
});
