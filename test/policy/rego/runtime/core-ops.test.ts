import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Stmt } from '../../../../src/policy/rego/ir.ts';
import { addResult, block, load, local, policy, s, str, type Loaded } from '../emit/ir-builders.ts';

/**
 * One entrypoint per core builtin: `<name>(input[0], input[1], …)`; the
 * runtime's value order, numbers and errors are checked through them.
 */
const OPS: [string, number][] = [
  ['lt', 2], ['equal', 2], ['plus', 2], ['minus', 2], ['mul', 2], ['div', 2], ['rem', 2],
  ['count', 1], ['round', 1], ['abs', 1], ['internal.member_2', 2], ['object.get', 3], ['and', 2], ['or', 2],
];

/** `$"n={input[0]}, u={input.missing}"`: embedded values are sets of zero or one value. */
const template = {
  name: 'template',
  blocks: [
    block(
      s('MakeArrayStmt', { capacity: 4, target: 2 }),
      s('ArrayAppendStmt', { value: str(1), array: 2 }),
      s('MakeSetStmt', { target: 3 }),
      s('MakeNumberIntStmt', { value: 0, target: 4 }),
      s('BlockStmt', { blocks: [block(s('DotStmt', { source: local(0), key: local(4), target: 5 }), s('SetAddStmt', { value: local(5), set: 3 }))] }),
      s('ArrayAppendStmt', { value: local(3), array: 2 }),
      s('ArrayAppendStmt', { value: str(2), array: 2 }),
      s('MakeSetStmt', { target: 6 }),
      s('BlockStmt', { blocks: [block(s('DotStmt', { source: local(0), key: str(3), target: 7 }), s('SetAddStmt', { value: local(7), set: 6 }))] }),
      s('ArrayAppendStmt', { value: local(6), array: 2 }),
      s('CallStmt', { func: 'internal.template_string', args: [local(2)], result: 8 }),
      ...addResult(8, 9, 0),
    ),
  ],
};

function callPlan(name: string, arity: number): { name: string; blocks: ReturnType<typeof block>[] } {
  const stmts: Stmt[] = [];
  for (let i = 0; i < arity; i++) {
    stmts.push(s('MakeNumberIntStmt', { value: i, target: 10 + i }), s('DotStmt', { source: local(0), key: local(10 + i), target: 20 + i }));
  }
  stmts.push(s('CallStmt', { func: name, args: Array.from({ length: arity }, (_, i) => local(20 + i)), result: 2 }), ...addResult(2, 3, 0));
  return { name, blocks: [block(...stmts)] };
}

describe('runtime core builtins', () => {
  let p: Loaded;
  const call = (name: string, ...args: unknown[]): unknown => {
    const rs = p.evaluate(args, name) as { result: unknown }[];
    return rs.length === 0 ? undefined : rs[0].result;
  };
  before(async () => {
    p = await load(policy(['result', 'n=', ', u=', 'missing'], [...OPS.map(([n, a]) => callPlan(n, a)), template]));
  });

  it('orders values as OPA: null < boolean < number < string < array < object', () => {
    const order = [null, false, true, -1, 2.5, 10, '', 'a', 'b', [], [1], [1, 0], [2], {}, { a: 1 }, { b: 0 }];
    for (let i = 0; i + 1 < order.length; i++) {
      assert.equal(call('lt', order[i], order[i + 1]), true, `${JSON.stringify(order[i])} < ${JSON.stringify(order[i + 1])}`);
      assert.equal(call('lt', order[i + 1], order[i]), false);
    }
    assert.equal(call('equal', 1, 1.0), true);
    assert.equal(call('equal', { a: [1, 2] }, { a: [1, 2] }), true);
  });

  it('keeps integer arithmetic exact and falls back to floats', () => {
    assert.equal(call('plus', 9007199254740991, 2), 9007199254740993);
    assert.equal(call('mul', 2.5, 2), 5);
    assert.equal(call('div', 7, 2), 3.5);
    assert.equal(call('div', 6, 3), 2);
    assert.equal(call('rem', -7, 3), -1);
    assert.equal(call('minus', 0.5, 0.25), 0.25);
    assert.equal(call('plus', 0.1, 0.2), 0.3, 'decimal results equal their literal, as in OPA');
    assert.equal(call('mul', 1.1, 3), 3.3);
    assert.equal(call('minus', 100.15, 0.05), 100.1);
    assert.equal(call('round', -2.5), -3);
    assert.equal(call('abs', -4), 4);
  });

  it('computes exactly beyond 64 bits', async () => {
    const { loadRaw } = await import('../emit/ir-builders.ts');
    const plus = await loadRaw(policy(['result'], [callPlan('plus', 2)]));
    const minus = await loadRaw(policy(['result'], [callPlan('minus', 2)]));
    const mul = await loadRaw(policy(['result'], [callPlan('mul', 2)]));
    assert.equal(plus('[9223372036854775807, 1]'), '[{"result":9223372036854775808}]');
    assert.equal(plus('[123456789012345678901234567890, -123456789012345678901234567891]'), '[{"result":-1}]');
    assert.equal(minus('[-9223372036854775808, 1]'), '[{"result":-9223372036854775809}]');
    assert.equal(mul('[4294967296, 4294967296]'), '[{"result":18446744073709551616}]');
    assert.equal(mul('[-123456789012345678901234567890, 1000000000000]'), '[{"result":-123456789012345678901234567890000000000000}]');
    assert.equal(mul('[99999999999999999999, 0]'), '[{"result":0}]');
  });

  it('raises OPA errors for bad operands', () => {
    assert.throws(() => call('plus', 1, 'a'), /eval_type_error: plus: operand 2 must be number but got string/);
    assert.throws(() => call('div', 1, 0), /eval_builtin_error: div: divide by zero/);
    assert.throws(() => call('rem', 1.5, 1), /eval_builtin_error: rem: modulo on floating-point number/);
    assert.throws(() => call('count', 7), /eval_type_error: count: operand 1/);
    assert.throws(() => call('object.get', [], 'a', 1), /eval_type_error: object.get: operand 1 must be object/);
  });

  it('counts code points, and finds members and paths', () => {
    assert.equal(call('count', 'héllo ✓'), 7);
    assert.equal(call('count', { a: 1, b: 2 }), 2);
    assert.equal(call('internal.member_2', 2, [1, 2, 3]), true);
    assert.equal(call('internal.member_2', 'x', { k: 'x' }), true);
    assert.equal(call('internal.member_2', 4, [1, 2, 3]), false);
    assert.equal(call('object.get', { a: { b: [10, 20] } }, ['a', 'b', 1], 'none'), 20);
    assert.equal(call('object.get', { a: 1 }, 'z', 'none'), 'none');
  });

  it('formats string templates', () => {
    const run = (value: unknown): unknown => (p.evaluate([value], 'template') as { result: unknown }[])[0].result;
    assert.equal(run(1), 'n=1, u=<undefined>');
    assert.equal(run('x'), 'n=x, u=<undefined>');
    assert.equal(run([1, 'y', { k: null }]), 'n=[1, "y", {"k": null}], u=<undefined>');
  });
});
