// What OPA evaluates before an expression: nested calls whose arguments are
// bound, and under `not` also the dynamic arguments; a negated expression
// binds no variable. Each expectation is what `opa eval` (v1.22.4) answers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from './helpers.ts';
import { PortcullisCompiler } from '../../../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../../../src/policy/engine.ts';
import { ErrorCodes } from '../../../../src/errors.ts';

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

async function load(source: string): Promise<OpaWasmEngine> {
  const bundle = await new PortcullisCompiler().compile({ modules: [{ path: 'm0.rego', source }], data: { tools: ['fs'] }, entrypoints: ['test'], tools: [], tests: [] });
  // OPA's default: a failing builtin is undefined.
  const engine = new OpaWasmEngine({ strictBuiltinErrors: false });
  await engine.load(bundle);
  return engine;
}

async function defined(input: unknown): Promise<string[]> {
  return Object.keys((await load(RULES)).evaluate(input).result as object).sort();
}

const CALLS = `package test

f(x) := "fs" if true

f(x) := "GET" if true

g(x) := upper(x)

conflict if {
	some i
	input.tags[i] == f("x")
}

upper_tags := [y | some i; y := g(input.tags[i])]
`;

describe('nested calls, as OPA rewrites them', () => {
  it('a call whose arguments are bound runs before the iteration, once: its conflict is raised even with nothing to iterate', async () => {
    const engine = await load(CALLS);
    for (const input of [{}, { tags: [] }, { tags: ['a'] }]) {
      assert.throws(() => engine.evaluate(input), (e: { code?: string }) => e.code === ErrorCodes.POLICY_CONFLICT, JSON.stringify(input));
    }
  });

  it('a call fed by the iteration still runs once per element', async () => {
    const engine = await load(CALLS.replace(/conflict if \{[^}]*\}/, ''));
    assert.deepEqual(engine.evaluate({ tags: ['a', 'b'] }).result, { upper_tags: ['A', 'B'] });
  });
});

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
