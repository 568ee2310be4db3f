// An integer key finds a stored document's key "2" only in a ref written
// from `data` (`data.nested[2]`), as OPA's storage has it; through a
// variable (`obj := data.nested; obj[2]`) it is an ordinary lookup and
// finds nothing. Answers as opa eval gives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';

const POLICY = `
direct := data.nested[2]
through_var := obj[2] if {
	obj := data.nested
}
string_key := obj["2"] if {
	obj := data.nested
}
`;

test('integer keys into stored documents: through a ref from data only', async () => {
  const rules = { direct: 'direct', through_var: 'through_var', string_key: 'string_key' };
  const data = { nested: { '2': 'bar' } };
  const [opa, ours] = await Promise.all([opaAnswers(rules, POLICY, undefined, data), portcullisAnswers(rules, POLICY, undefined, data)]);
  assert.deepEqual(ours, opa);
  assert.deepEqual(ours, { direct: '["bar"]', string_key: '["bar"]' });
});
