import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../../src/evidence/ledger.ts';
import type { LedgerFs } from '../../src/evidence/ledger-fs.ts';
import { sampleIntent, sampleOutcome } from './support/records.ts';
import { datasyncFs } from './support/datasync-fs.ts';

/** The real file system, counting fdatasyncs and noting how many lines each one covered. */
function countingFs(): { fs: LedgerFs; syncs: number[] } {
  const syncs: number[] = [];
  const fs = datasyncFs(async (path, datasync) => {
    await datasync();
    syncs.push((await readFile(path, 'utf8')).split('\n').length - 1);
  });
  return { fs, syncs };
}

test('one connection: each outcome shares the next intent\'s fsync, and resolves only once durable', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-linger-'));
  try {
    const { fs, syncs } = countingFs();
    const ledger = await Ledger.open({ path: join(dir, 'ledger.jsonl'), fs });
    const outcomes: Array<Promise<{ seq: number }>> = [];
    const calls = 10;
    for (let i = 0; i < calls; i++) {
      const intent = await ledger.append('intent', sampleIntent(i));
      // The intent is durable before its call may run.
      assert.ok(syncs.at(-1)! >= intent.seq + 1, `intent ${intent.seq} resolved before an fsync covered it`);
      outcomes.push(ledger.append('outcome', sampleOutcome(i)));
    }
    const positions = await Promise.all(outcomes);
    // Every outcome resolved after an fsync that covered its line.
    for (const p of positions) assert.ok(syncs.some((covered) => covered >= p.seq + 1), `outcome ${p.seq} resolved undurable`);
    // Ten intents and ten outcomes: the first nine outcomes rode on the next intent's fsync.
    assert.ok(syncs.length <= calls + 1, `${syncs.length} fsyncs for ${calls} calls`);
    await ledger.close();
    const lines = (await readFile(join(dir, 'ledger.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2 * calls);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an outcome with no intent after it is still made durable, and close() does not wait for the linger', { timeout: 10_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-linger-'));
  try {
    const { fs, syncs } = countingFs();
    const ledger = await Ledger.open({ path: join(dir, 'ledger.jsonl'), fs });
    await ledger.append('intent', sampleIntent(0));
    const outcome = await ledger.append('outcome', sampleOutcome(0));
    assert.equal(syncs.at(-1), outcome.seq + 1);
    // From here the linger's timer never fires by itself: a close() that waited for it would never end.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const late = ledger.append('outcome', sampleOutcome(1));
    await ledger.close();
    assert.equal((await late).seq, 2);
    assert.equal(syncs.at(-1), 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
