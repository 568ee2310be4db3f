// `import future.keywords.not` (and `import future.keywords`): the whole
// negated expression is under the `not`, nested calls and arguments
// included, and `not { … }` negates a body. Without the import, nested
// calls run before the `not` and `not { x }` is the negation of a set.
// Every answer as opa eval (v1.22.4) gives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';
import { PortcullisCompiler } from '../../../../src/policy/compiler.ts';

const POLICY = (imports: string) => `
${imports}

nested if not f(g(input.x))
member if not input.tool in data.allowed
both if {
	not {
		input.x == 1
		input.y == 2
	}
}
closure if {
	y := 2
	not {
		some v in input.l
		v > y
	}
}
local if {
	not {
		z := input.x
		z == 5
	}
}
one_line if { not { input.x == 2 } }
f(x) := true if x == 1
g(x) := x
`;

const RULES = { nested: 'nested', member: 'member', both: 'both', closure: 'closure', local: 'local', one_line: 'one_line' };

for (const imports of ['import future.keywords.not', 'import future.keywords']) {
  test(`${imports}: whole-expression negation and not { … }`, async () => {
    for (const input of [{}, { x: 1, y: 3, l: [1, 2] }, { x: 1, y: 2, l: [3] }]) {
      const [opa, ours] = await Promise.all([opaAnswers(RULES, POLICY(imports), input), portcullisAnswers(RULES, POLICY(imports), input)]);
      assert.deepEqual(ours, opa, JSON.stringify(input));
    }
    // Without input.x, f(g(input.x)) is undefined, so its negation holds (it did not: g ran before the not).
    assert.equal((await portcullisAnswers(RULES, POLICY(imports), {})).nested, '[true]');
  });
}

test('without the import: nested calls before the not, and not { x } negates a set', async () => {
  const policy = `
nested if not f(g(input.x))
set_term if { not { input.x == 2 } }
f(x) := true if x == 1
g(x) := x
`;
  const rules = { nested: 'nested', set_term: 'set_term' };
  const [opa, ours] = await Promise.all([opaAnswers(rules, policy, {}), portcullisAnswers(rules, policy, {})]);
  assert.deepEqual(ours, opa);
  assert.deepEqual(ours, {});
});

test('import rego.v2 is refused by name (its and/or keywords are not implemented)', async () => {
  const source = 'package t\n\nimport rego.v2\n\np if true\n';
  await assert.rejects(
    new PortcullisCompiler().compile({ modules: [{ path: 'p.rego', source }], data: {}, entrypoints: ['t/p'], tools: [], tests: [] }),
    /import rego\.v2 is not supported/,
  );
});
