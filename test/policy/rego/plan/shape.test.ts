import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allStmts, plan } from './helpers.ts';

describe('planner IR shape', () => {
  it('plans an entrypoint calling the rule function and adding {"result": value}', () => {
    const p = plan(['package test\n\np := 1\n'], ['test/p']);
    assert.deepEqual(
      p.plans.plans.map((x) => x.name),
      ['test/p'],
    );
    assert.deepEqual(
      p.funcs.funcs?.map((f) => f.name),
      ['g0.data.test.p'],
    );
    const f = p.funcs.funcs?.[0];
    assert.deepEqual(f?.params, [0, 1]);
    assert.equal(f?.return, 2);
    const types = allStmts(p).map((s) => s.type);
    assert.ok(types.includes('ResultSetAddStmt'));
    assert.ok(types.includes('AssignVarOnceStmt'), 'complete rules assign their result once');
    assert.ok(p.static.strings.some((s) => s.value === 'result'));
  });

  it('plans functions with their arguments as parameters', () => {
    const p = plan(['package test\n\nf(x, y) := x + y\n\np := f(1, 2)\n'], ['test/p']);
    const f = p.funcs.funcs?.find((x) => x.name === 'g0.data.test.f');
    assert.deepEqual(f?.params, [0, 1, 3, 4]);
    assert.ok(p.static.builtin_funcs?.some((b) => b.name === 'plus'));
  });

  it('plans a partial set with SetAdd and iteration with Scan', () => {
    const p = plan(['package test\n\np contains x if {\n\tsome x in input.xs\n}\n'], ['test/p']);
    const types = allStmts(p).map((s) => s.type);
    assert.ok(types.includes('MakeSetStmt'));
    assert.ok(types.includes('ScanStmt'));
    assert.ok(types.includes('SetAddStmt'));
  });

  it('plans `with input` as a WithStmt on local 0', () => {
    const p = plan(['package test\n\nq := input.a\n\np := x if {\n\tx := q with input.a as 7\n}\n'], ['test/p']);
    const w = allStmts(p).find((s) => s.type === 'WithStmt');
    assert.equal(w?.type, 'WithStmt');
    if (w?.type === 'WithStmt') assert.equal(w.stmt.local, 0);
  });

  it('plans only the rules an entrypoint reaches', () => {
    const p = plan(['package test\n\np := 1\n\nq := 2\n'], ['test/p']);
    assert.deepEqual(
      p.funcs.funcs?.map((f) => f.name),
      ['g0.data.test.p'],
    );
  });
});

describe('annotated entrypoints', () => {
  it('lists rules and packages marked entrypoint: true', async () => {
    const { annotatedEntrypoints } = await import('../../../../src/policy/rego/compile.ts');
    const { parseModule } = await import('../../../../src/policy/rego/parser/index.ts');
    const src = `# METADATA
# entrypoint: true
package a.b

# METADATA
# entrypoint: true
allow := true

deny := false
`;
    assert.deepEqual(annotatedEntrypoints([parseModule(src, 'm.rego')]), ['a/b', 'a/b/allow']);
  });
});
