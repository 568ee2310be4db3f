import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emitWasm } from '../../../../src/policy/rego/emit/index.ts';
import { ErrorCodes, isPortcullisError } from '../../../../src/errors.ts';
import { Wasm, addResult, block, bool, instantiateRaw, load, local, policy, s, str } from './ir-builders.ts';

// Locals 0 and 1 are input and data in every plan and rule.

describe('emitWasm', () => {
  it('emits a module the OPA SDK loads, with the ABI exports and only the allowed imports', () => {
    const wasm = emitWasm(policy(['result'], [{ name: 'p', blocks: [block(...addResult(0, 2, 0))] }]));
    const mod = new Wasm.Module(wasm);
    const exports = Wasm.Module.exports(mod).map((e) => e.name).sort();
    for (const name of ['opa_eval', 'opa_malloc', 'opa_json_parse', 'opa_json_dump', 'opa_heap_ptr_get', 'opa_heap_ptr_set', 'builtins', 'entrypoints', 'opa_wasm_abi_version', 'opa_wasm_abi_minor_version']) {
      assert.ok(exports.includes(name), `missing export ${name}`);
    }
    const allowed = new Set(['memory', 'opa_abort', 'opa_println', 'opa_builtin0', 'opa_builtin1', 'opa_builtin2', 'opa_builtin3', 'opa_builtin4']);
    for (const imp of Wasm.Module.imports(mod)) {
      assert.equal(imp.module, 'env');
      assert.ok(allowed.has(imp.name), `unexpected import ${imp.name}`);
    }
  });

  it('builds an object from input and data', async () => {
    // p = {"user": input.user, "roles": data.roles[input.user]}
    const strings = ['result', 'user', 'roles'];
    const plan = block(
      s('DotStmt', { source: local(0), key: str(1), target: 2 }),
      s('DotStmt', { source: local(1), key: str(2), target: 3 }),
      s('DotStmt', { source: local(3), key: local(2), target: 4 }),
      s('MakeObjectStmt', { target: 5 }),
      s('ObjectInsertStmt', { key: str(1), value: local(2), object: 5 }),
      s('ObjectInsertStmt', { key: str(2), value: local(4), object: 5 }),
      ...addResult(5, 6, 0),
    );
    const p = await load(policy(strings, [{ name: 'p', blocks: [plan] }]), { roles: { ana: ['admin'], bo: [] } });
    assert.deepEqual(p.evaluate({ user: 'ana' }), [{ result: { user: 'ana', roles: ['admin'] } }]);
    assert.deepEqual(p.evaluate({ user: 'cy' }), [], 'an undefined lookup ends the block');
    assert.deepEqual(p.evaluate(), [], 'no input is undefined');
  });

  it('scans arrays and objects, and adds to sets in OPA order', async () => {
    // p = {x | x := input.items[_]; x != "skip"}
    const plan = block(
      s('MakeSetStmt', { target: 2 }),
      s('DotStmt', { source: local(0), key: str(1), target: 3 }),
      s('ScanStmt', {
        source: 3,
        key: 4,
        value: 5,
        block: block(s('NotEqualStmt', { a: local(5), b: str(2) }), s('SetAddStmt', { value: local(5), set: 2 })),
      }),
      ...addResult(2, 6, 0),
    );
    const p = await load(policy(['result', 'items', 'skip'], [{ name: 'p', blocks: [plan] }]));
    assert.deepEqual(p.evaluate({ items: ['b', 'skip', 3, 'a', null, [1], { k: 1 }, true, 'a'] }), [
      { result: [null, true, 3, 'a', 'b', [1], { k: 1 }] },
    ]);
    assert.deepEqual(p.evaluate({ items: { z: 'z', a: 'a' } }), [{ result: ['a', 'z'] }]);
    assert.deepEqual(p.evaluate({ items: 7 }), [{ result: [] }], 'scanning a scalar iterates nothing');
  });

  it('calls rule funcs, and replaces input for a with block only', async () => {
    // rule r = input.x; plan: a = r; b = r with input.x as "mocked"; c = r
    const rule = {
      name: 'g0.data.t.r',
      params: [0, 1],
      return: 2,
      path: ['g0', 'data', 't', 'r'],
      blocks: [block(s('DotStmt', { source: local(0), key: str(1), target: 3 }), s('AssignVarOnceStmt', { source: local(3), target: 2 })), block(s('ReturnLocalStmt', { source: 2 }))],
    };
    const call = (target: number) => s('CallStmt', { func: 'g0.data.t.r', args: [local(0), local(1)], result: target });
    const plan = block(
      call(2),
      s('WithStmt', { local: 0, path: [1], value: str(2), block: block(call(3)) }),
      call(4),
      s('MakeArrayStmt', { capacity: 3, target: 5 }),
      s('ArrayAppendStmt', { value: local(2), array: 5 }),
      s('ArrayAppendStmt', { value: local(3), array: 5 }),
      s('ArrayAppendStmt', { value: local(4), array: 5 }),
      ...addResult(5, 6, 0),
    );
    const p = await load(policy(['result', 'x', 'mocked'], [{ name: 'p', blocks: [plan] }], [rule]));
    assert.deepEqual(p.evaluate({ x: 'real', y: 1 }), [{ result: ['real', 'mocked', 'real'] }]);
  });

  it('undoes a with when a BreakStmt leaves its block early', async () => {
    const rule = {
      name: 'g0.data.t.r',
      params: [0, 1],
      return: 2,
      blocks: [block(s('DotStmt', { source: local(0), key: str(1), target: 3 }), s('AssignVarOnceStmt', { source: local(3), target: 2 })), block(s('ReturnLocalStmt', { source: 2 }))],
    };
    const call = (target: number) => s('CallStmt', { func: 'g0.data.t.r', args: [local(0), local(1)], result: target });
    const plan = block(
      s('BlockStmt', {
        blocks: [block(s('WithStmt', { local: 0, path: [1], value: str(2), block: block(call(2), s('BreakStmt', { index: 1 })) }))],
      }),
      call(3),
      s('MakeArrayStmt', { capacity: 2, target: 5 }),
      s('ArrayAppendStmt', { value: local(2), array: 5 }),
      s('ArrayAppendStmt', { value: local(3), array: 5 }),
      ...addResult(5, 6, 0),
    );
    const p = await load(policy(['result', 'x', 'mocked'], [{ name: 'p', blocks: [plan] }], [rule]));
    assert.deepEqual(p.evaluate({ x: 'real' }), [{ result: ['mocked', 'real'] }]);
  });

  it('reports conflicting values of a complete rule as eval_conflict_error', async () => {
    const rule = {
      name: 'g0.data.t.c',
      params: [0, 1],
      return: 2,
      blocks: [
        block(s('AssignVarOnceStmt', { source: str(1), target: 2 })),
        block(s('DotStmt', { source: local(0), key: str(3), target: 3 }), s('AssignVarOnceStmt', { source: str(2), target: 2, file: 0, row: 7 })),
        block(s('ReturnLocalStmt', { source: 2 })),
      ],
    };
    const plan = block(s('CallStmt', { func: 'g0.data.t.c', args: [local(0), local(1)], result: 2 }), ...addResult(2, 3, 0));
    const ir = policy(['result', 'one', 'two', 'both'], [{ name: 'p', blocks: [plan] }], [rule]);
    ir.static.files = [{ value: 'rules.rego' }];
    const p = await load(ir);
    assert.deepEqual(p.evaluate({}), [{ result: 'one' }]);
    assert.throws(
      () => p.evaluate({ both: true }),
      (e: unknown) => String(e).startsWith('eval_conflict_error: ') && String(e).includes('(rules.rego:7)'),
    );
  });

  it('supports NotStmt, BreakStmt and IsDefined/IsUndefined', async () => {
    // p = "no-admin" if not input.admin; else "admin"
    // BreakStmt 1 leaves its block and the enclosing one, skipping the fallback.
    const plan = block(
      s('BlockStmt', {
        blocks: [
          block(
            s('BlockStmt', {
              blocks: [
                block(
                  s('NotStmt', { block: block(s('DotStmt', { source: local(0), key: str(1), target: 2 }), s('EqualStmt', { a: local(2), b: bool(true) })) }),
                  s('AssignVarStmt', { source: str(2), target: 3 }),
                  s('BreakStmt', { index: 1 }),
                ),
              ],
            }),
            s('AssignVarStmt', { source: str(3), target: 3 }),
          ),
        ],
      }),
      s('IsDefinedStmt', { source: 3 }),
      ...addResult(3, 4, 0),
    );
    const p = await load(policy(['result', 'admin', 'no-admin', 'admin'], [{ name: 'p', blocks: [plan] }]));
    assert.deepEqual(p.evaluate({ admin: false }), [{ result: 'no-admin' }]);
    assert.deepEqual(p.evaluate({ admin: true }), [{ result: 'admin' }]);
  });

  it('calls core builtins in the runtime and SDK builtins through opa_builtinN', async () => {
    const plan = block(
      s('DotStmt', { source: local(0), key: str(1), target: 2 }),
      s('MakeNumberIntStmt', { value: 2, target: 3 }),
      s('CallStmt', { func: 'mul', args: [local(2), local(3)], result: 4 }),
      s('MakeArrayStmt', { capacity: 1, target: 5 }),
      s('ArrayAppendStmt', { value: local(4), array: 5 }),
      s('CallStmt', { func: 'sprintf', args: [str(2), local(5)], result: 6 }),
      ...addResult(6, 7, 0),
    );
    const p = await load(policy(['result', 'n', 'twice: %d'], [{ name: 'p', blocks: [plan] }]));
    assert.deepEqual(p.evaluate({ n: 21 }), [{ result: 'twice: 42' }]);
    assert.throws(() => p.evaluate({ n: 'x' }), (e: unknown) => String(e).includes('eval_type_error'));
  });

  it('calls a host builtin without arguments once per evaluation', async () => {
    const now = (target: number) => s('CallStmt', { func: 'time.now_ns', args: [], result: target });
    const plan = block(
      now(2),
      now(3),
      s('MakeArrayStmt', { capacity: 2, target: 4 }),
      s('ArrayAppendStmt', { value: local(2), array: 4 }),
      s('ArrayAppendStmt', { value: local(3), array: 4 }),
      ...addResult(4, 5, 0),
    );
    let clock = 0;
    const p = await load(policy(['result'], [{ name: 'p', blocks: [plan] }]), undefined, { 'time.now_ns': () => ++clock });
    assert.deepEqual(p.evaluate({}), [{ result: [1, 1] }]);
    assert.deepEqual(p.evaluate({}), [{ result: [2, 2] }]);
  });

  it('refuses an unknown builtin at compile time', () => {
    const plan = block(s('CallStmt', { func: 'no.such_builtin', args: [local(0)], result: 2 }));
    assert.throws(
      () => emitWasm(policy([], [{ name: 'p', blocks: [plan] }])),
      (e: unknown) => isPortcullisError(e) && e.code === ErrorCodes.REGO_UNSUPPORTED_BUILTIN && e.message.includes('no.such_builtin'),
    );
  });

  it('calls rules through CallDynamicStmt by a path computed at run time', async () => {
    // strings: 0 result, 1 g0, 2 data, 3 t, 4 a, 5 b, 6 which, 7 from a, 8 from b
    const rule = (leaf: number, value: number) => ({
      name: `g0.data.t.${leaf === 4 ? 'a' : 'b'}`,
      params: [0, 1],
      return: 2,
      path: ['g0', 'data', 't', leaf === 4 ? 'a' : 'b'],
      blocks: [block(s('AssignVarOnceStmt', { source: str(value), target: 2 })), block(s('ReturnLocalStmt', { source: 2 }))],
    });
    const plan = block(
      s('DotStmt', { source: local(0), key: str(6), target: 2 }),
      s('CallDynamicStmt', { path: [str(1), str(2), str(3), local(2)], args: [0, 1], result: 3 }),
      ...addResult(3, 4, 0),
    );
    const strings = ['result', 'g0', 'data', 't', 'a', 'b', 'which', 'from a', 'from b'];
    const p = await load(policy(strings, [{ name: 'p', blocks: [plan] }], [rule(4, 7), rule(5, 8)]));
    assert.deepEqual(p.evaluate({ which: 'a' }), [{ result: 'from a' }]);
    assert.deepEqual(p.evaluate({ which: 'b' }), [{ result: 'from b' }]);
    assert.deepEqual(p.evaluate({ which: 'c' }), []);
    assert.deepEqual(p.evaluate({ which: 1 }), []);
  });

  it('also evaluates through the ABI 1.1 context functions', async () => {
    const plan = block(s('DotStmt', { source: local(1), key: str(1), target: 2 }), ...addResult(2, 3, 0));
    const { exports: x, write, text } = await instantiateRaw(policy(['result', 'd'], [{ name: 'p', blocks: [plan] }]));
    const data = x.opa_json_parse(...write('{"d": [1, "two"]}'));
    const ctx = x.opa_eval_ctx_new();
    x.opa_eval_ctx_set_input(ctx, x.opa_json_parse(...write('{}')));
    x.opa_eval_ctx_set_data(ctx, data);
    x.opa_eval_ctx_set_entrypoint(ctx, 0);
    x.eval(ctx);
    assert.equal(text(x.opa_json_dump(x.opa_eval_ctx_get_result(ctx))), '[{"result":[1,"two"]}]');
  });

  it('loads static data larger than the SDK\'s default memory', async () => {
    const big = 'x'.repeat(400 * 1024);
    const plan = block(s('AssignVarStmt', { source: str(1), target: 2 }), ...addResult(2, 3, 0));
    const p = await load(policy(['result', big], [{ name: 'p', blocks: [plan] }]));
    assert.deepEqual(p.evaluate({}), [{ result: big }]);
  });

  it('merges objects, measures lengths and tests types', async () => {
    // strings: 0 result, 1 a, 2 b, 3 len, 4 kind, 5 array, 6 object, 7 other
    const kind = (stmt: 'IsArrayStmt' | 'IsObjectStmt', name: number) =>
      block(s(stmt, { source: local(3) }), s('AssignVarStmt', { source: str(name), target: 7 }), s('BreakStmt', { index: 1 }));
    const plan = block(
      s('DotStmt', { source: local(0), key: str(1), target: 2 }),
      s('DotStmt', { source: local(0), key: str(2), target: 3 }),
      s('ObjectMergeStmt', { a: 2, b: 1, target: 4 }),
      s('LenStmt', { source: local(3), target: 5 }),
      s('BlockStmt', { blocks: [block(s('BlockStmt', { blocks: [kind('IsArrayStmt', 5), kind('IsObjectStmt', 6)] }), s('AssignVarStmt', { source: str(7), target: 7 }))] }),
      s('MakeObjectStmt', { target: 6 }),
      s('ObjectInsertStmt', { key: str(1), value: local(4), object: 6 }),
      s('ObjectInsertStmt', { key: str(3), value: local(5), object: 6 }),
      s('ObjectInsertStmt', { key: str(4), value: local(7), object: 6 }),
      ...addResult(6, 8, 0),
    );
    const strings = ['result', 'a', 'b', 'len', 'kind', 'array', 'object', 'other'];
    const p = await load(policy(strings, [{ name: 'p', blocks: [plan] }]), { d: { x: 1, y: 2 } });
    assert.deepEqual(p.evaluate({ a: { d: { x: 0, z: 3 }, e: 1 }, b: [1, 2, 3] }), [
      { result: { a: { d: { x: 0, y: 2, z: 3 }, e: 1 }, len: 3, kind: 'array' } },
    ]);
    assert.deepEqual(p.evaluate({ a: {}, b: { k: 1 } }), [{ result: { a: { d: { x: 1, y: 2 } }, len: 1, kind: 'object' } }]);
    assert.deepEqual(p.evaluate({ a: {}, b: 'héllo' }), [{ result: { a: { d: { x: 1, y: 2 } }, len: 5, kind: 'other' } }]);
    assert.deepEqual(p.evaluate({ a: {}, b: 7 }), [], 'LenStmt fails on a number');
  });

  it('rejects two values for one key of an object rule', async () => {
    const plan = block(
      s('MakeObjectStmt', { target: 2 }),
      s('ObjectInsertOnceStmt', { key: str(1), value: str(1), object: 2 }),
      s('ObjectInsertOnceStmt', { key: str(1), value: str(1), object: 2 }),
      s('DotStmt', { source: local(0), key: str(2), target: 3 }),
      s('ObjectInsertOnceStmt', { key: str(1), value: local(3), object: 2 }),
      ...addResult(2, 4, 0),
    );
    const p = await load(policy(['result', 'k', 'v'], [{ name: 'p', blocks: [plan] }]));
    assert.deepEqual(p.evaluate({ v: 'k' }), [{ result: { k: 'k' } }]);
    assert.throws(() => p.evaluate({ v: 'other' }), /eval_conflict_error: object keys must be unique/);
  });

  it('exposes several entrypoints by name', async () => {
    const one = block(s('MakeNumberRefStmt', { Index: 1, target: 2 }), ...addResult(2, 3, 0));
    const two = block(s('MakeNullStmt', { target: 2 }), ...addResult(2, 3, 0));
    const p = await load(policy(['result', '1.50'], [{ name: 'a/one', blocks: [one] }, { name: 'a/two', blocks: [two] }]));
    assert.deepEqual(p.evaluate({}, 'a/one'), [{ result: 1.5 }]);
    assert.deepEqual(p.evaluate({}, 'a/two'), [{ result: null }]);
    assert.throws(() => p.evaluate({}, 7), /invalid_entrypoint/);
  });
});
