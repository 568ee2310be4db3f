/** At most N builds at once; the others wait their turn, in order, and a failure frees its slot. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildSlots } from '../../../src/controller/bundles/build-slots.ts';

test('no more than the limit run at once; every job runs, in arrival order', async () => {
  const slots = new BuildSlots(2);
  let now = 0;
  let peak = 0;
  const started: number[] = [];
  const releases: (() => void)[] = [];
  const jobs = Array.from({ length: 5 }, (_, i) =>
    slots.run(async () => {
      started.push(i);
      peak = Math.max(peak, ++now);
      await new Promise<void>((resolve) => releases.push(resolve));
      now--;
      return i;
    }),
  );
  // Release the running jobs one by one; each release lets exactly one waiter in.
  for (let released = 0; released < 5; released++) {
    while (releases.length === 0) await new Promise((r) => setImmediate(r));
    assert.ok(slots.active() <= 2);
    releases.shift()!();
  }
  assert.deepEqual(await Promise.all(jobs), [0, 1, 2, 3, 4]);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
  assert.equal(slots.active(), 0);
});

test('a failing job frees its slot', async () => {
  const slots = new BuildSlots(1);
  await assert.rejects(slots.run(async () => Promise.reject(new Error('compile error'))), /compile error/);
  assert.equal(await slots.run(async () => 'next'), 'next');
  assert.equal(slots.active(), 0);
  assert.throws(() => new BuildSlots(0), RangeError);
});
