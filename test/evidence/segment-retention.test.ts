/**
 * Retention of rotated ledger segments without shipping: a ledger that keeps
 * rotating leaves the newest `keep` segments and the active file on disk,
 * older ones are deleted and each deletion is logged; what is kept still
 * verifies as a chain that starts later (--allow-partial-start), and the
 * ledger goes on appending across the deletions.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Ledger, segmentsOf } from '../../src/evidence/ledger.ts';
import { pruneSegments, startSegmentRetention } from '../../src/evidence/segment-retention.ts';
import { verifyLedger } from '../../src/evidence/verify.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { sampleIntent, sampleOutcome } from './support/records.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-retention-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture(): { logger: ReturnType<typeof createLogger>; lines: any[] } {
  const lines: any[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  return { logger, lines };
}

async function filesOf(path: string): Promise<string[]> {
  return (await readdir(join(path, '..'))).map((n) => join(path, '..', n));
}

describe('ledger segment retention', () => {
  it('pruneSegments keeps the newest segments and the active file, deletes the rest, and says so', async () => {
    const path = join(dir, 'a', 'ledger.jsonl');
    const ledger = await Ledger.open({ path, maxFileBytes: 2500 });
    for (let i = 0; i < 30; i++) {
      await ledger.append('intent', sampleIntent(i));
      await ledger.append('outcome', sampleOutcome(i));
    }
    await ledger.close();
    const before = segmentsOf(path, await readdir(join(dir, 'a')));
    assert.ok(before.length > 4, `rotated into ${before.length} segments`);
    const { logger, lines } = capture();
    const deleted = await pruneSegments(path, 2, logger);
    assert.deepEqual(deleted, before.slice(0, -2).map(([, n]) => n), 'the oldest go');
    const names = await readdir(join(dir, 'a'));
    assert.deepEqual(segmentsOf(path, names), before.slice(-2), 'the newest two stay');
    assert.ok(names.includes('ledger.jsonl'), 'the active file is never touched');
    assert.equal(lines.filter((l) => /deleted by retention/.test(l.msg)).length, deleted.length);
    // What is kept is still one chain, starting later.
    const partial = await verifyLedger(await filesOf(path), { allowPartialStart: true });
    assert.equal(partial.ok, true, JSON.stringify(partial.findings));
    assert.equal((await verifyLedger(await filesOf(path))).ok, false, 'without the flag the missing start is reported');
    // Nothing more to delete: a second run is a no-op.
    assert.deepEqual(await pruneSegments(path, 2, logger), []);
  });

  it('told of each rotation by the ledger, it bounds the segments on disk while the ledger keeps appending', async () => {
    const path = join(dir, 'b', 'ledger.jsonl');
    const { logger, lines } = capture();
    // The timer is out of the picture: only the ledger's word that it rotated prunes.
    const retention = startSegmentRetention({ ledgerFile: path, keep: 1, logger, intervalMs: 3_600_000 });
    const ledger = await Ledger.open({ path, maxFileBytes: 2000, onRotate: retention.rotated });
    try {
      for (let i = 0; i < 40; i++) {
        await ledger.append('intent', sampleIntent(i));
        await ledger.append('outcome', sampleOutcome(i));
      }
      // The last rotation is done, and the prune it asked for.
      await ledger.idle();
      await retention.settled();
      assert.equal(segmentsOf(path, await readdir(join(dir, 'b'))).length, 1);
      assert.ok(lines.some((l) => /deleted by retention/.test(l.msg)));
      const head = ledger.head()!;
      assert.equal(head.seq, 79, 'every append was made');
    } finally {
      await retention.stop();
      await ledger.close();
    }
    const report = await verifyLedger(await filesOf(path), { allowPartialStart: true });
    assert.equal(report.ok, true, JSON.stringify(report.findings));
  });
});
