import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactFields, parseRedactPath } from '../../src/gate/redact-json.ts';

test('fields named by the paths are removed, through arrays and wildcards', () => {
  const v = { card: { number: '4242', brand: 'visa' }, items: [{ secret: 1, id: 'a' }, { secret: 2, id: 'b' }], rows: ['x', 'y'], 'odd key': 1 };
  const n = redactFields(v, ['$.card.number', '$.items[*].secret', '$.rows[0]', "$['odd key']", '$.absent.deep']);
  assert.equal(n, 5);
  assert.deepEqual(v, { card: { brand: 'visa' }, items: [{ id: 'a' }, { id: 'b' }], rows: ['y'] });
});

test('unreadable paths are refused', () => {
  for (const p of ['card', '$', '$..x', '$.a[', '$.a[-1]']) assert.throws(() => parseRedactPath(p), p);
});
