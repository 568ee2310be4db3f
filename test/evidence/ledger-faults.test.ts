// A ledger that cannot be written: enforce fails closed, observe forwards and
// counts the loss; a full disk leaves no partial entry and no gap.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';
import { LedgerRecorder } from '../../src/evidence/ledger-recorder.ts';
import { fullDiskFs } from './support/full-disk.ts';
import { nodeLedgerFs } from '../../src/evidence/ledger-fs.ts';
import { datasyncFs } from './support/datasync-fs.ts';
import { recordIntent } from '../../src/evidence/record-intent.ts';
import { verifyLedger } from '../../src/evidence/verify.ts';
import { createMetrics, type PortcullisMetrics } from '../../src/telemetry/metrics.ts';
import { sampleIntent } from './support/records.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-faults-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function counter(metrics: PortcullisMetrics, name: 'ledgerLost' | 'failClosed' | 'ledgerErrors', labels: Record<string, string>): Promise<number> {
  const values = (await metrics[name].get()).values;
  return values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))?.value ?? 0;
}

/** Makes `d` read-only, even for root (immutable attribute); returns an undo, or undefined when the platform cannot. */
async function makeReadOnly(d: string): Promise<(() => Promise<void>) | undefined> {
  if (process.getuid?.() !== 0) {
    await chmod(d, 0o555);
    return () => chmod(d, 0o755);
  }
  try {
    execFileSync('chattr', ['+i', d], { stdio: 'ignore' });
    return async () => {
      execFileSync('chattr', ['-i', d], { stdio: 'ignore' });
    };
  } catch {
    return undefined;
  }
}

describe('ledger faults', () => {
  it('on a read-only directory: LEDGER_WRITE, enforce fails closed, observe forwards and counts the loss', async (t) => {
    const ro = join(dir, 'ro');
    await mkdir(ro);
    const undo = await makeReadOnly(ro);
    if (!undo) return t.skip('cannot make a directory read-only here');
    try {
      const metrics = createMetrics({ processMetrics: false });
      const recorder = new LedgerRecorder({ path: join(ro, 'ledger.jsonl'), metrics, reopenIntervalMs: 0 });
      await assert.rejects(recorder.intent(sampleIntent(1)), (e: unknown) => e instanceof PortcullisError && e.code === ErrorCodes.LEDGER_WRITE);

      const enforced = await recordIntent(recorder, sampleIntent(2), { mode: 'enforce', metrics });
      assert.equal(enforced.proceed, false);
      assert.equal(enforced.recorded, false);
      assert.equal(!enforced.recorded && enforced.error.code, ErrorCodes.LEDGER_WRITE);
      assert.equal(await counter(metrics, 'failClosed', { code: ErrorCodes.LEDGER_WRITE }), 1);

      const observed = await recordIntent(recorder, sampleIntent(3), { mode: 'observe', metrics });
      assert.equal(observed.proceed, true);
      assert.equal(observed.recorded, false);
      assert.equal(await counter(metrics, 'ledgerLost', { kind: 'intent' }), 1);
      assert.ok((await counter(metrics, 'ledgerErrors', { kind: 'intent' })) >= 3);
      // Once the disk is writable again, the recorder reopens by itself.
      await undo();
      const pos = await recorder.intent(sampleIntent(4));
      assert.equal(pos.seq, 0);
      await recorder.close();
    } finally {
      await undo();
    }
  });

  it('on a full disk: the failed batch is cut off, nothing partial remains, and the chain resumes with no gap', async () => {
    const path = join(dir, 'full', 'ledger.jsonl');
    const state = { full: false, allow: 0 };
    const metrics = createMetrics({ processMetrics: false });
    const recorder = new LedgerRecorder({ path, fs: fullDiskFs(state), metrics });
    const first = await recorder.intent(sampleIntent(1));
    // The disk fills up half-way through the next entry.
    state.full = true;
    state.allow = 100;
    const failed = await Promise.allSettled([recorder.intent(sampleIntent(2)), recorder.intent(sampleIntent(3))]);
    for (const r of failed) {
      assert.equal(r.status, 'rejected');
      const e = (r as PromiseRejectedResult).reason as PortcullisError;
      assert.equal(e.code, ErrorCodes.LEDGER_WRITE);
      assert.equal(e.details?.errno, 'ENOSPC');
    }
    const enforced = await recordIntent(recorder, sampleIntent(4), { mode: 'enforce', metrics });
    assert.equal(enforced.proceed, false);
    const observed = await recordIntent(recorder, sampleIntent(5), { mode: 'observe', metrics });
    assert.equal(observed.proceed, true);
    assert.equal(await counter(metrics, 'ledgerLost', { kind: 'intent' }), 1);
    assert.equal((await verifyLedger([path])).ok, true, 'no partial entry is left behind');
    // Space is freed: appends succeed and chain straight on from the last durable entry.
    state.full = false;
    const next = await recorder.intent(sampleIntent(6));
    assert.equal(next.seq, first.seq + 1);
    await recorder.close();
    const report = await verifyLedger([path]);
    assert.equal(report.ok, true, JSON.stringify(report.findings));
    assert.equal(report.entries, 2);
  });

  it('an O_DSYNC write that fails other than for space is a failed sync: refuses until reopened; one that fails for space is not', async () => {
    const path = join(dir, 'dsync', 'ledger.jsonl');
    let fail: string | undefined;
    let now = 0;
    const fs = {
      ...nodeLedgerFs,
      openAppend: async (p: string) => {
        const file = await nodeLedgerFs.openAppend(p);
        assert.equal(file.syncsOnWrite, true, 'the real file is opened with O_DSYNC');
        return { ...file, append: async (bytes: Uint8Array) => (fail ? Promise.reject(Object.assign(new Error(`${fail}: write`), { code: fail })) : file.append(bytes)) };
      },
    };
    const recorder = new LedgerRecorder({ path, fs, now: () => now, reopenIntervalMs: 1000 });
    await recorder.intent(sampleIntent(1));
    fail = 'ENOSPC';
    await assert.rejects(recorder.intent(sampleIntent(2)), (e: PortcullisError) => e.details?.stage === 'write+sync' && e.details?.errno === 'ENOSPC');
    fail = undefined;
    assert.equal((await recorder.intent(sampleIntent(3))).seq, 1, 'a full disk does not break the ledger');
    fail = 'EIO';
    await assert.rejects(recorder.intent(sampleIntent(4)), (e: PortcullisError) => e.details?.stage === 'write+sync' && e.details?.errno === 'EIO');
    fail = undefined;
    await assert.rejects(recorder.intent(sampleIntent(5)), (e: PortcullisError) => e.code === ErrorCodes.LEDGER_WRITE, 'broken until reopened');
    now += 1500;
    assert.equal((await recorder.intent(sampleIntent(6))).seq, 2);
    await recorder.close();
    assert.equal((await verifyLedger([path])).ok, true);
  });

  it('after a failed fsync: refuses until reopened, then recovers', async () => {
    const path = join(dir, 'fsync', 'ledger.jsonl');
    let failSync = false;
    let now = 0;
    const fs = datasyncFs(async (_path, datasync) => {
      if (failSync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      return datasync();
    });
    const recorder = new LedgerRecorder({ path, fs, now: () => now, reopenIntervalMs: 1000 });
    await recorder.intent(sampleIntent(1));
    failSync = true;
    await assert.rejects(recorder.intent(sampleIntent(2)), (e: PortcullisError) => e.code === ErrorCodes.LEDGER_WRITE && e.details?.stage === 'fsync');
    failSync = false;
    // The ledger broke: within the reopen interval appends fail at once.
    await assert.rejects(recorder.intent(sampleIntent(3)), (e: PortcullisError) => e.code === ErrorCodes.LEDGER_WRITE);
    now += 1500;
    const pos = await recorder.intent(sampleIntent(4));
    assert.equal(pos.seq, 1);
    await recorder.close();
    assert.equal((await verifyLedger([path])).ok, true);
  });
});
