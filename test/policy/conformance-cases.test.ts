// The conformance runner's reading of OPA query forms (scripts/conformance/cases.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputTermToJson, planQuery, Unsupported } from '../../scripts/conformance/cases.ts';
import { compareJson, sortBindingValues } from '../../scripts/conformance/value-order.ts';

test('a ref bound to a variable becomes an entrypoint', () => {
  assert.deepEqual(planQuery('data.generated.p = x'), {
    entrypoints: ['generated/p'],
    conjuncts: [[{ kind: 'ref', path: ['generated', 'p'] }, { kind: 'var', name: 'x' }]],
  });
  assert.deepEqual(planQuery('x = data.a["b"]').entrypoints, ['a/b']);
});

test('conjunctions, keys, literals and input', () => {
  const plan = planQuery('data.main.result.foo = x; data.main.result.bar = z');
  assert.deepEqual(plan.entrypoints, ['main/result/foo', 'main/result/bar']);
  assert.deepEqual(planQuery('data.x.p[x] = z').conjuncts[0]![0], { kind: 'ref', path: ['x', 'p'], key: { var: 'x' } });
  assert.deepEqual(planQuery('data.test.p[0] = x').conjuncts[0]![0], { kind: 'ref', path: ['test', 'p'], key: { value: 0 } });
  assert.deepEqual(planQuery('data.x.p.a.b = 1').conjuncts[0]![1], { kind: 'value', value: 1 });
  assert.deepEqual(planQuery('data.x.p = input').conjuncts[0]![1], { kind: 'input' });
  assert.deepEqual(planQuery('data.test.a = a\ndata.test.b = b').entrypoints, ['test/a', 'test/b']);
});

test('forms that cannot be an entrypoint are refused with a reason', () => {
  for (const q of ['data.p.f(1)', 'data.generated.p(1) = x', 'x = $"foo"', 'data = x', 'x = 1']) {
    assert.throws(() => planQuery(q), Unsupported, q);
  }
});

test('input terms: JSON with trailing commas; sets refused (the runner then wraps the refs `with input as` the term)', () => {
  assert.deepEqual(inputTermToJson('{ "a": [1, 2,], }'), { a: [1, 2] });
  assert.throws(() => inputTermToJson('{"x": {1, 2}}'), Unsupported);
  assert.throws(() => inputTermToJson('{"d": set()}'), Unsupported);
});

test('sort_bindings: each binding array sorted in OPA value order, one level deep', () => {
  assert.deepEqual(
    sortBindingValues({ x: [{}, [], '', 0, null, [], false], y: 'z' }),
    { x: [null, false, 0, '', [], [], {}], y: 'z' },
  );
  assert.deepEqual(sortBindingValues({ x: [[{ b: ['a', 'c'] }], [{ b: ['a'] }]] }).x, [[{ b: ['a'] }], [{ b: ['a', 'c'] }]]);
  assert.deepEqual(sortBindingValues({ x: [['b', 'a']] }).x, [['b', 'a']]);
  assert.ok(compareJson({ a: 1 }, { a: 1, b: 0 }) < 0);
  assert.ok(compareJson({ a: 2 }, { b: 1 }) < 0);
  assert.ok(compareJson(10, 9) > 0);
});
