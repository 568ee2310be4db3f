import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayLedger, type ReplayBundle } from '../../src/evidence/replay.ts';
import { parseEntry, sealEntry } from '../../src/evidence/ledger-entry.ts';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import type { CompiledBundle } from '../../src/policy/types.ts';
import { POLICY_V1, POLICY_V2, compileDir, recordDecisions, writePolicyDir } from './support/policies.ts';
import { Ledger } from '../../src/evidence/ledger.ts';
import { inputHash } from '../../src/evidence/hash.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { sampleInput, sampleIntent } from './support/records.ts';
import { LedgerRecorder } from '../../src/evidence/ledger-recorder.ts';
import { bundleStoreFor, findStoredBundle, storeBundle } from '../../src/evidence/bundle-store.ts';
import { until } from '../support/until.ts';

let dir: string;
let v1: CompiledBundle;
let v2: CompiledBundle;
let ledger: string;

async function replayBundle(b: CompiledBundle, label: string): Promise<ReplayBundle> {
  const engine = new OpaWasmEngine();
  await engine.load(b);
  return { digest: b.digest, engine, label };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-replay-'));
  v1 = await compileDir(await writePolicyDir(join(dir, 'v1'), POLICY_V1));
  v2 = await compileDir(await writePolicyDir(join(dir, 'v2'), POLICY_V2));
  ledger = join(dir, 'ledger.jsonl');
  await recordDecisions(ledger, v1, 25);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('replayLedger', () => {
  it('reproduces every decision with the recorded policy', async () => {
    const r = await replayLedger([ledger], { recorded: [await replayBundle(v1, 'v1')] });
    assert.equal(r.ok, true);
    assert.equal(r.intents, 25);
    assert.equal(r.counts.reproduced, 25);
    assert.deepEqual(r.rows, []);
  });

  it('given the recorded policy as the bundle, checks every decision bit for bit', async () => {
    const r = await replayLedger([ledger], { bundle: await replayBundle(v1, 'v1') });
    assert.equal(r.ok, true);
    assert.equal(r.counts.reproduced, 25);
    assert.equal(r.counts.changed + r.counts.unchanged, 0);
  });

  it('lists the decisions another bundle would change', async () => {
    const r = await replayLedger([ledger], { bundle: await replayBundle(v2, 'v2') });
    assert.equal(r.counts.reproduced, 0);
    // file-1 and file-10 … file-19 now escalate.
    assert.equal(r.counts.changed, 11);
    assert.equal(r.counts.unchanged, 14);
    assert.deepEqual(
      r.rows.map((row) => [row.decisionId, row.recordedEffect, row.replayedEffect]),
      [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map((i) => [`d-${i}`, 'deny', 'escalate']),
    );
    assert.deepEqual(r.rows[0]!.differences, ['effect', 'escalation', 'reason']);
    assert.equal(r.ok, true, 'a change is what was asked for, not a failure');
  });

  it('evaluates with the given bundle even when the recorded policy can be found', async () => {
    let asked = 0;
    const recordedV1 = await replayBundle(v1, 'store');
    const r = await replayLedger([ledger], {
      bundle: await replayBundle(v2, 'v2'),
      recorded: [recordedV1],
      resolve: async () => {
        asked++;
        return recordedV1;
      },
    });
    assert.equal(asked, 0, 'the store is not read for a what-if replay');
    assert.equal(r.counts.reproduced, 0);
    assert.equal(r.counts.changed, 11);
    assert.deepEqual(r.resolved, []);
  });

  it('names the differing constraints and the rewritten decision', async () => {
    const path = join(dir, 'constraints.jsonl');
    const l = await Ledger.open({ path });
    const input = sampleInput(2);
    const recorded = { effect: 'deny', reason: 'writes to /prod are denied', constraints: { timeoutMs: 100 } };
    await l.append('intent', sampleIntent(2, { input, inputHash: inputHash(input), policyDigest: 'sha256:' + 'a'.repeat(64), decision: recorded }));
    const rewrittenInput = sampleInput(3);
    await l.append(
      'intent',
      sampleIntent(3, {
        input,
        inputHash: inputHash(input),
        policyDigest: 'sha256:' + 'a'.repeat(64),
        decision: { effect: 'deny', reason: 'writes to /prod are denied' },
        rewritten: { input: rewrittenInput, inputHash: inputHash(rewrittenInput), decision: { effect: 'allow', reason: 'ok' } },
      }),
    );
    await l.close();
    const r = await replayLedger([path], { bundle: await replayBundle(v1, 'v1') });
    assert.deepEqual(
      r.rows.map((row) => [row.status, row.differences]),
      [
        ['changed', ['constraints']],
        ['changed', ['rewritten decision']],
      ],
    );
  });

  it('says which recorded policy is missing when none is given', async () => {
    const r = await replayLedger([ledger], { resolve: async () => undefined });
    assert.equal(r.ok, false);
    assert.equal(r.counts.unavailable, 25);
    assert.deepEqual(r.missingDigests, { [v1.digest]: 25 });
  });

  it('reports a mismatch when a recorded decision differs from what its policy decides', async () => {
    const lines = (await readFile(ledger, 'utf8')).split('\n').filter(Boolean);
    const p = parseEntry(lines[0]!);
    assert.ok(p.ok);
    const record = { ...p.entry.record, decision: { effect: 'allow', reason: 'ok' } };
    lines[0] = sealEntry('intent', canonicalJson(record), { seq: 0, prev: p.entry.prev }).line.trimEnd();
    const forged = join(dir, 'forged.jsonl');
    await writeFile(forged, lines.map((l) => l + '\n').join(''));
    const r = await replayLedger([forged], { recorded: [await replayBundle(v1, 'v1')] });
    assert.equal(r.ok, false);
    assert.equal(r.counts.mismatch, 1);
    assert.equal(r.rows[0]!.seq, 0);
    assert.equal(r.rows[0]!.status, 'mismatch');
  });

  it('replays policy denials, and skips what no policy decided', async () => {
    const path = join(dir, 'codes.jsonl');
    const l = await Ledger.open({ path });
    const input = sampleInput(3);
    const deny = { effect: 'deny', reason: 'writes to /prod are denied' };
    const base = { input, inputHash: inputHash(input), policyDigest: v1.digest, decision: deny };
    await l.append('intent', sampleIntent(3, { ...base, errorCode: ErrorCodes.DENIED }));
    await l.append('intent', sampleIntent(4, { ...base, decision: null, errorCode: ErrorCodes.POLICY_TIMEOUT }));
    await l.append('intent', sampleIntent(5, { ...base, decision: null, errorCode: ErrorCodes.BAD_JSONRPC }));
    await l.append('intent', sampleIntent(6, { ...base, decision: null, policyDigest: '', errorCode: ErrorCodes.POLICY_NO_BUNDLE }));
    await l.close();
    const r = await replayLedger([path], { recorded: [await replayBundle(v1, 'v1')] });
    assert.deepEqual({ reproduced: r.counts.reproduced, skipped: r.counts.skipped, mismatch: r.counts.mismatch }, { reproduced: 1, skipped: 3, mismatch: 0 });
    assert.equal(r.ok, true);
  });

  it('finds the recorded policy in the bundle store the recorder keeps beside the ledger', async () => {
    const path = join(dir, 'stored', 'ledger.jsonl');
    const recorder = new LedgerRecorder({ path, bundles: { dir: bundleStoreFor(path), current: () => v1 } });
    const input = sampleInput(1);
    const engine = new OpaWasmEngine();
    await engine.load(v1);
    const decision = engine.evaluate(input).result;
    await recorder.intent(sampleIntent(1, { input, inputHash: inputHash(input), policyDigest: v1.digest, decision }));
    await recorder.close();
    const stored = await until(() => findStoredBundle(bundleStoreFor(path), v1.digest), 'the bundle stored beside the ledger');
    assert.equal(stored?.digest, v1.digest, 'the recorder archived the policy that decided');
    assert.equal(await storeBundle(bundleStoreFor(path), v1), false, 'stored once');

    const r = await replayLedger([path], {
      resolve: async (digest) => {
        const b = await findStoredBundle(bundleStoreFor(path), digest);
        if (!b) return undefined;
        const e = new OpaWasmEngine();
        await e.load(b);
        return { digest: b.digest, engine: e, label: 'store' };
      },
    });
    assert.equal(r.counts.reproduced, 1);
    assert.deepEqual(r.resolved, [{ digest: v1.digest, label: 'store' }]);
    assert.equal(r.ok, true);
  });
});
