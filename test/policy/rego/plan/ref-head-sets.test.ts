// General ref heads that end in a set: multi-value rules at the same path,
// one with a variable in its ref, build one set (OPA merges them; it was a
// conflict error). A complete value at that path still conflicts, as in OPA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';

const POLICY = `
a[q] contains r if { some q in ["a", "b"]; r := concat("", [q, "x"]) }
a.b contains "foo"

b[q].x contains r if { some q in ["a", "b"]; r := q }
b.b.y contains "foo"

c[q].x contains r if { some q in ["a", "b"]; r := q }
c.b.x contains "foo"

d[q] contains 1 if { some q in ["a", "b"] }
d.b := {2}

e[q].x := 1 if { some q in ["a", "b"] }
e.b.x := 2

f[q] := 1 if { some q in ["a", "b"] }
f.b := 1
`;

test('sets of multi-value rules at one path merge; other clashes conflict, as opa eval has it', async () => {
  const rules = { ra: 'a', rb: 'b', rc: 'c', rd: 'd', re: 'e', rf: 'f', rab: 'a.b' };
  const [opa, ours] = await Promise.all([opaAnswers(rules, POLICY), portcullisAnswers(rules, POLICY)]);
  assert.deepEqual(ours, opa);
  assert.equal(ours.ra, '[{"a":["ax"],"b":["bx","foo"]}]');
  assert.equal(ours.rc, '[{"a":{"x":["a"]},"b":{"x":["b","foo"]}}]');
  assert.deepEqual(ours.rd, { error: 'eval_conflict_error' });
});
