import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReviewCache } from '../../../src/controller/approvals/review-cache.ts';

test('a kept review is given back for its token until its time runs out, and for no other token', () => {
  let now = 1_000;
  const cache = new ReviewCache<{ name: string }>(30_000, () => now);
  assert.equal(cache.get('token-a'), undefined);
  cache.set('token-a', { name: 'alice' });
  assert.deepEqual(cache.get('token-a'), { name: 'alice' });
  assert.equal(cache.get('token-b'), undefined);
  now += 29_999;
  assert.deepEqual(cache.get('token-a'), { name: 'alice' });
  now += 1;
  assert.equal(cache.get('token-a'), undefined, 'trusted for the TTL, not a moment longer');
  cache.set('token-b', { name: 'bob' });
  now += 30_000;
  cache.set('token-c', { name: 'carol' });
  assert.equal(cache.get('token-b'), undefined);
  assert.deepEqual(cache.get('token-c'), { name: 'carol' });
});
