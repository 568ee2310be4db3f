// walk used as a value (`[path, value] := walk(x)`) or as a statement
// (`walk(x)`) yields each of its outputs, as in OPA; it gave the whole
// result array once (so nothing unified with the pattern) or held once.
// Answers as opa eval gives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';

const POLICY = `
x := {"a": [{"b": [{"c": [{"aa": "AA"}, {"bb": "BB"}, {"cc": "CC"}, {"dd": "DDD"}]}]}]}
pairs := {path: value | [path, value] := walk(x); count(value) == 2}
paths := {path | [path, _] := walk(x)}
statements := count([1 | walk(x)])
output_arg := {path | walk(x, [path, _])}
`;

test('walk yields each output wherever it is used', async () => {
  const rules = { pairs: 'pairs', paths: 'paths', statements: 'statements', output_arg: 'output_arg', same: 'paths == output_arg' };
  const [opa, ours] = await Promise.all([opaAnswers(rules, POLICY), portcullisAnswers(rules, POLICY)]);
  assert.deepEqual(ours, opa);
  assert.equal(ours.statements, '[14]');
  assert.equal(ours.same, '[true]');
});
