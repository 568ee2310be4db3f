/** Refusal rules as an ordered list: the first refusal wins and the checks after it are not run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstRefusal, type RefusalCheck } from '../../src/controller/first-refusal.ts';

test('the first check that refuses answers; later ones are not run; none refusing is undefined', () => {
  const ran: string[] = [];
  const check =
    (name: string, refuses: (n: number) => boolean): RefusalCheck<number> =>
    (n) => (ran.push(name), refuses(n) ? `${name} refuses ${n}` : undefined);
  const checks = [check('odd', (n) => n % 2 === 1), check('big', (n) => n > 10), check('negative', (n) => n < 0)];
  assert.equal(firstRefusal(checks, 13), 'odd refuses 13');
  assert.deepEqual(ran.splice(0), ['odd']);
  assert.equal(firstRefusal(checks, 12), 'big refuses 12');
  assert.deepEqual(ran.splice(0), ['odd', 'big']);
  assert.equal(firstRefusal(checks, 4), undefined);
  assert.deepEqual(ran.splice(0), ['odd', 'big', 'negative']);
  assert.equal(firstRefusal([], 4), undefined);
});
