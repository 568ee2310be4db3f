// The ledger's two durability levels: `fsync` (the default: an append resolves once durable) and `write` (once written; synced within an interval).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../../src/evidence/ledger.ts';
import { nodeLedgerFs, type LedgerFs } from '../../src/evidence/ledger-fs.ts';
import { ErrorCodes, type PortcullisError } from '../../src/errors.ts';
import { sampleIntent, sampleOutcome } from './support/records.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-durability-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The real file system, noting how each file was opened and the entries on disk at each fdatasync; `failSync` makes the next one fail. */
function watchedFs(): { fs: LedgerFs; opened: boolean[]; synced: number[]; nextSync(): Promise<void>; failSync: { on: boolean } } {
  const opened: boolean[] = [];
  const synced: number[] = [];
  const failSync = { on: false };
  let wake: (() => void) | undefined;
  const fs: LedgerFs = {
    ...nodeLedgerFs,
    openAppend: async (path, options) => {
      const file = await nodeLedgerFs.openAppend(path, options);
      opened.push(file.syncsOnWrite === true);
      return {
        ...file,
        datasync: async () => {
          if (failSync.on) {
            wake?.();
            throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          }
          await file.datasync();
          synced.push((await readFile(path, 'utf8')).split('\n').filter(Boolean).length);
          wake?.();
        },
      };
    },
  };
  const nextSync = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  return { fs, opened, synced, nextSync, failSync };
}

describe('Ledger durability', () => {
  it('fsync, the default: the file is opened with O_DSYNC, so each append is durable when it resolves', async () => {
    const w = watchedFs();
    const ledger = await Ledger.open({ path: join(dir, 'fsync', 'ledger.jsonl'), fs: w.fs });
    await ledger.append('intent', sampleIntent(1));
    await ledger.close();
    assert.deepEqual(w.opened, [true]);
  });

  it('the synced-seq gauge follows the head under fsync, and the last periodic sync under write', async () => {
    const gauge = async (m: ReturnType<typeof createMetrics>, name: string): Promise<number | undefined> =>
      (await m.registry.getSingleMetric(name)?.get())?.values[0]?.value;
    const durable = createMetrics();
    const a = await Ledger.open({ path: join(dir, 'gauge-fsync', 'ledger.jsonl'), metrics: durable });
    await a.append('intent', sampleIntent(1));
    const second = await a.append('intent', sampleIntent(2));
    assert.equal(await gauge(durable, 'portcullis_ledger_synced_seq'), second.seq);
    await a.close();

    const written = createMetrics();
    const w = watchedFs();
    const b = await Ledger.open({ path: join(dir, 'gauge-write', 'ledger.jsonl'), fs: w.fs, metrics: written, durability: 'write', syncIntervalMs: 60_000 });
    for (let i = 0; i < 2; i++) await b.append('intent', sampleIntent(i));
    const last = await b.append('intent', sampleIntent(2));
    assert.equal(await gauge(written, 'portcullis_ledger_head_seq'), last.seq);
    assert.ok((await gauge(written, 'portcullis_ledger_synced_seq') ?? 0) < last.seq, 'written, not yet synced');
    await b.close();
    assert.equal(await gauge(written, 'portcullis_ledger_synced_seq'), last.seq, 'closing synced it');
    const syncs = (await written.registry.getSingleMetric('portcullis_ledger_sync_seconds')?.get())?.values.find((v) => (v as { metricName?: string }).metricName === 'portcullis_ledger_sync_seconds_count');
    assert.equal(syncs?.value, 1);
  });

  it('write: an fdatasync covering what was written follows within the interval', async () => {
    const w = watchedFs();
    const ledger = await Ledger.open({ path: join(dir, 'write', 'ledger.jsonl'), fs: w.fs, durability: 'write', syncIntervalMs: 20 });
    assert.deepEqual(w.opened, [false], 'opened without O_DSYNC');
    const synced = w.nextSync();
    const first = await ledger.append('intent', sampleIntent(1));
    await ledger.append('outcome', sampleOutcome(1));
    await synced;
    assert.ok(w.synced[0]! >= first.seq + 1, 'the sync covered the intent');
    await ledger.close();
  });

  it('write: appends resolve before any fdatasync, and closing syncs what the interval has not yet', async () => {
    const w = watchedFs();
    const ledger = await Ledger.open({ path: join(dir, 'close', 'ledger.jsonl'), fs: w.fs, durability: 'write', syncIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) await ledger.append('intent', sampleIntent(i));
    assert.equal(w.synced.length, 0);
    await ledger.close();
    assert.deepEqual(w.synced, [3]);
  });

  it('write: a rotated segment is synced before it is renamed', async () => {
    const w = watchedFs();
    const ledger = await Ledger.open({ path: join(dir, 'rotate', 'ledger.jsonl'), fs: w.fs, durability: 'write', syncIntervalMs: 60_000, maxFileBytes: 1 });
    await ledger.append('intent', sampleIntent(1));
    await ledger.idle();
    assert.deepEqual(w.synced, [1], 'the full file was synced once, before the rotation');
    assert.deepEqual(w.opened, [false, false], 'the new active file is opened as the first was');
    await ledger.close();
  });

  it('write: a failed sync breaks the ledger until it is reopened, as a failed fsync does', async () => {
    const w = watchedFs();
    const ledger = await Ledger.open({ path: join(dir, 'failed', 'ledger.jsonl'), fs: w.fs, durability: 'write', syncIntervalMs: 5 });
    w.failSync.on = true;
    const failed = w.nextSync();
    await ledger.append('intent', sampleIntent(1));
    await failed;
    await ledger.idle();
    await assert.rejects(ledger.append('intent', sampleIntent(2)), (e: PortcullisError) => e.code === ErrorCodes.LEDGER_WRITE && e.details?.stage === 'fsync');
    await ledger.close();
  });
});
