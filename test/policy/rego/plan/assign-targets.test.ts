// The left of `:=` holds variables only (in arrays and object values):
// `[false, errors] := json.match_schema(…)` is refused as OPA refuses it
// ("cannot assign to boolean"); Portcullis compared the constant instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';

const CASES: [string, string | undefined][] = [
  ['p if { [false, e] := [false, 1] }', 'cannot assign to boolean'],
  ['p if { [1, e] := [1, 2] }', 'cannot assign to number'],
  ['p if { {"a": 1} := {"a": 1} }', 'cannot assign to number'],
  ['p if { {x} := {1} }', 'cannot assign to set'],
  ['p if { count(x) := 1 }', 'cannot assign to call'],
  ['p if { [x | x := 1] := [1] }', 'cannot assign to arraycomprehension'],
  ['p if { {"a": x} := {"a": 1}; x == 1 }', undefined],
  ['p if { [x, _] := [1, 2]; x == 1 }', undefined],
];

test('what := may assign to, as opa eval has it', async () => {
  for (const [policy, refusal] of CASES) {
    const ours = await portcullisAnswers({ v: 'p' }, policy).catch((e: Error) => ({ v: { error: e.message } }));
    const opa = await opaAnswers({ v: 'p' }, policy);
    if (refusal === undefined) {
      assert.deepEqual(ours, opa, policy);
      assert.deepEqual(ours, { v: '[true]' }, policy);
    } else {
      assert.deepEqual(opa, { v: { error: 'rego_compile_error' } }, policy);
      assert.match(JSON.stringify(ours), new RegExp(`rego_compile_error: ${refusal}`), policy);
    }
  }
});
