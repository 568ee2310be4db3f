// Valid policies that were refused with a false rego_unsafe_var_error: a
// variable only a ref of another operand binds, and object patterns whose
// keys are variables. Each is decided as `opa eval` (v1.22.4) decides it,
// including the one OPA does refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';

const INPUT = { foos: { a: 'a', b: 'c' }, v: 3, o: { a: [7] } };

const POLICY = `
ref_binds if { some foo; foo == input.foos[foo] }
ref_binds_undeclared if { foo == input.foos[foo] }
pairs contains [foo, x] if { x := foo; foo == input.foos[foo] }
var_key := x if { k := "a"; v := 1; {k: [x]} = {k: [v]} }
var_key_two := [x, y] if { k := "a"; {k: [x, y]} = {k: [1, input.v]} }
var_key_input := x if { k := "a"; {k: [x]} = input.o }
`;

test("a variable bound by another operand's ref, and variable object keys, are safe", async () => {
  const rules = { a: 'ref_binds', b: 'ref_binds_undeclared', c: 'pairs', d: 'var_key', e: 'var_key_two', f: 'var_key_input' };
  const [opa, ours] = await Promise.all([opaAnswers(rules, POLICY, INPUT), portcullisAnswers(rules, POLICY, INPUT)]);
  assert.deepEqual(ours, opa);
  assert.deepEqual(ours, { a: '[true]', b: '[true]', c: '[[["a","a"]]]', d: '[1]', e: '[[1,3]]', f: '[7]' });
});

test('keys that are different terms do not pair: OPA refuses the pattern, so does Portcullis', async () => {
  const policy = 't := x if { k := "a"; {k: x} = {"a": 2} }';
  const [opa, ours] = await Promise.all([opaAnswers({ a: 't' }, policy), portcullisAnswers({ a: 't' }, policy).catch((e: unknown) => ({ a: { error: (e as Error).message } }))]);
  assert.deepEqual(opa, { a: { error: 'rego_unsafe_var_error' } });
  assert.match(JSON.stringify(ours), /rego_unsafe_var_error: var x is unsafe/);
});
