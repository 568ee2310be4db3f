// Negation as OPA evaluates it: nested calls and dynamic arguments of a
// negated expression run before the `not`, and a negated expression binds no
// variable. Each expectation is what `opa eval` (v1.22.4) answers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from './helpers.ts';
import { PortcullisCompiler } from '../../../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../../../src/policy/engine.ts';

const RULES = `package test

member if not input.x in data.tools
equality if not input.x == 1
not_equal if not input.x != 1
builtin if not startswith(input.x, "a")
nested_call if not count(input.x) == 1
bound_first if { x := input.x; not x in data.tools }
literal_set if not input.x in {"a"}
dynamic_key if not input.y[input.x]
array_operand if not [input.x] == [1]
comprehension if not count([v | some v in input.x]) == 2
whole_ref if not input.x
function if not f(input.x)
f(v) if v == 1
`;

async function defined(input: unknown): Promise<string[]> {
  const bundle = await new PortcullisCompiler().compile({ modules: [{ path: 'm0.rego', source: RULES }], data: { tools: ['fs'] }, entrypoints: ['test'], tools: [], tests: [] });
  // OPA's default: a failing builtin is undefined.
  const engine = new OpaWasmEngine({ strictBuiltinErrors: false });
  await engine.load(bundle);
  return Object.keys(engine.evaluate(input).result as object).sort();
}

describe('negation, as OPA rewrites it', () => {
  it('an undefined argument makes the body fail, except for a whole ref operand of == or a statement', async () => {
    // Without input.x only these hold: the operand of ==, the bare ref, and a comprehension over nothing.
    assert.deepEqual(await defined({}), ['comprehension', 'equality', 'whole_ref']);
  });

  it('defined arguments: the negation decides', async () => {
    assert.deepEqual(await defined({ x: 'b', y: {} }), [
      'array_operand', 'bound_first', 'builtin', 'comprehension', 'dynamic_key', 'equality', 'function', 'literal_set', 'member',
    ]);
    assert.deepEqual(await defined({ x: 'a', y: { a: true } }), ['array_operand', 'bound_first', 'comprehension', 'equality', 'function', 'member']);
  });

  it('a nested call that fails is not negated: the body fails', async () => {
    // count(1) is a type error (undefined here): OPA evaluates it before the `not`.
    assert.deepEqual(await defined({ x: 1 }), ['bound_first', 'builtin', 'comprehension', 'dynamic_key', 'literal_set', 'member', 'not_equal']);
  });

  it('a negated expression binds nothing: an unbound variable in it is unsafe, `_` too', () => {
    for (const body of ['not input.a[_] == "x"', 'not input.a[_]', 'not startswith(input.a[_], "x")', '{ some i; not input.a[i] == "x" }']) {
      assert.throws(
        () => plan([`package test\n\np if ${body}\n`], ['test/p']),
        (e: { details?: { opaCode?: string } }) => e.details?.opaCode === 'rego_unsafe_var_error',
        body,
      );
    }
  });
});
