import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LedgerRecorder, createLedgerRecorder } from '../../src/evidence/ledger-recorder.ts';
import { createNullRecorder } from '../../src/evidence/recorder.ts';
import { recordOutcome } from '../../src/evidence/record-intent.ts';
import { verifyLedger } from '../../src/evidence/verify.ts';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { sampleIntent, sampleOutcome } from './support/records.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-recorder-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LedgerRecorder', () => {
  it('opens once for appends that arrive together before the ledger is open', async () => {
    const path = join(dir, 'together.jsonl');
    const recorder = new LedgerRecorder({ path });
    const positions = await Promise.all(Array.from({ length: 50 }, (_, i) => recorder.intent(sampleIntent(i))));
    assert.deepEqual(
      positions.map((p) => p.seq).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
    await recorder.outcome(sampleOutcome(0));
    assert.equal(recorder.head()?.seq, 50);
    await recorder.close();
    assert.equal(recorder.head()?.seq, 50, 'the last head stays readable after close');
    assert.equal((await verifyLedger([path])).ok, true);
    await assert.rejects(recorder.intent(sampleIntent(99)), (e: PortcullisError) => e.code === ErrorCodes.LEDGER_WRITE);
  });

  it('starts failing, not throwing, when the path cannot be a ledger', async () => {
    const recorder = await createLedgerRecorder({ path: join(dir, 'together.jsonl', 'inside-a-file.jsonl') });
    assert.equal(recorder.lastError?.code, ErrorCodes.LEDGER_WRITE);
    await assert.rejects(recorder.intent(sampleIntent(1)), (e: PortcullisError) => e.code === ErrorCodes.LEDGER_WRITE);
    await recorder.close();
  });

  it('counts an outcome it could not record, without throwing', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const recorder = new LedgerRecorder({ path: join(dir, 'closed.jsonl') });
    await recorder.close();
    const error = await recordOutcome(recorder, sampleOutcome(1), metrics);
    assert.equal(error?.code, ErrorCodes.LEDGER_WRITE);
    assert.match(await metrics.registry.metrics(), /portcullis_ledger_lost_total\{kind="outcome"\} 1/);
  });
});

describe('createNullRecorder', () => {
  it('records nothing and never fails', async () => {
    const r = createNullRecorder();
    assert.equal((await r.intent(sampleIntent(1))).seq, 0);
    await r.outcome(sampleOutcome(1));
    assert.equal(r.head(), undefined);
    await r.close();
  });
});
