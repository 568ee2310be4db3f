import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { Ledger, segmentPath, segmentsOf } from '../../src/evidence/ledger.ts';
import { entryHash, parseEntry, sealEntry, sealEntryParts, writeParts } from '../../src/evidence/ledger-entry.ts';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { GENESIS_HASH, inputHash } from '../../src/evidence/hash.ts';
import { createHeadSigner, createHeadVerifier } from '../../src/evidence/signing.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { sampleIntent, sampleOutcome } from './support/records.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-ledger-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l.length > 0);
}

describe('Ledger', () => {
  it('chains entries from genesis, each line canonical and self-hashing', async () => {
    const path = join(dir, 'chain', 'ledger.jsonl');
    const ledger = await Ledger.open({ path });
    const a = await ledger.append('intent', sampleIntent(1));
    const b = await ledger.append('outcome', sampleOutcome(1));
    await ledger.close();
    assert.equal(a.seq, 0);
    assert.equal(b.seq, 1);
    const [l0, l1] = await lines(path);
    const e0 = parseEntry(l0!);
    const e1 = parseEntry(l1!);
    assert.ok(e0.ok && e1.ok);
    assert.equal(e0.entry.prev, GENESIS_HASH);
    assert.equal(e0.entry.hash, a.hash);
    assert.equal(entryHash(e0.entry), a.hash);
    assert.equal(e1.entry.prev, a.hash);
    assert.equal(entryHash(e1.entry), b.hash);
    // The full input is kept, and its hash can be recomputed from the line.
    const rec = e0.entry.record as { input: unknown; inputHash: string };
    assert.equal(inputHash(rec.input), rec.inputHash);
  });

  it('continues the chain after reopening', async () => {
    const path = join(dir, 'reopen.jsonl');
    let ledger = await Ledger.open({ path });
    const a = await ledger.append('intent', sampleIntent(1));
    await ledger.close();
    ledger = await Ledger.open({ path });
    assert.deepEqual({ seq: ledger.head()?.seq, hash: ledger.head()?.hash }, a);
    const b = await ledger.append('intent', sampleIntent(2));
    await ledger.close();
    assert.equal(b.seq, 1);
    const e1 = parseEntry((await lines(path))[1]!);
    assert.ok(e1.ok);
    assert.equal(e1.entry.prev, a.hash);
  });

  it('group-commits concurrent appends in order with no gaps', async () => {
    const path = join(dir, 'group.jsonl');
    const metrics = createMetrics({ processMetrics: false });
    const ledger = await Ledger.open({ path, metrics });
    const positions = await Promise.all(Array.from({ length: 500 }, (_, i) => ledger.append('intent', sampleIntent(i))));
    await ledger.close();
    assert.deepEqual(
      positions.map((p) => p.seq),
      Array.from({ length: 500 }, (_, i) => i),
    );
    const batches = (await metrics.ledgerBatchSize.get()).values.find((v) => v.metricName === 'portcullis_ledger_batch_entries_count');
    assert.ok(batches && batches.value < 500, 'appends share fsyncs');
    const appended = (await metrics.ledgerAppends.get()).values.find((v) => v.labels.kind === 'intent');
    assert.equal(appended?.value, 500);
    assert.equal((await lines(path)).length, 500);
  });

  it('cuts an unterminated last line left by a crash, and continues the chain', async () => {
    const path = join(dir, 'torn.jsonl');
    let ledger = await Ledger.open({ path });
    const a = await ledger.append('intent', sampleIntent(1));
    await ledger.close();
    await appendFile(path, '{"hash":"sha256:00');
    ledger = await Ledger.open({ path });
    const b = await ledger.append('intent', sampleIntent(2));
    await ledger.close();
    assert.equal(b.seq, 1);
    const ls = await lines(path);
    assert.equal(ls.length, 2);
    const e1 = parseEntry(ls[1]!);
    assert.ok(e1.ok);
    assert.equal(e1.entry.prev, a.hash);
  });

  it('refuses to open a ledger whose last entry was edited', async () => {
    const path = join(dir, 'edited-tail.jsonl');
    const ledger = await Ledger.open({ path });
    await ledger.append('intent', sampleIntent(1));
    await ledger.close();
    await writeFile(path, (await readFile(path, 'utf8')).replace('writes to /prod are denied', 'writes to /prod are allowed'));
    await assert.rejects(Ledger.open({ path }), (e: { code?: string }) => e.code === ErrorCodes.LEDGER_CORRUPT);
  });

  it('rotates by size and carries the chain into the next file', async () => {
    const sub = join(dir, 'rot');
    const path = join(sub, 'ledger.jsonl');
    let ledger = await Ledger.open({ path, maxFileBytes: 3000 });
    for (let i = 0; i < 10; i++) await ledger.append('intent', sampleIntent(i));
    await ledger.close();
    const names = await readdir(sub);
    const segs = segmentsOf(path, names);
    assert.ok(segs.length >= 2, `rotated into ${names.join(', ')}`);
    assert.equal(segs[0]![1], 'ledger.000001.jsonl');
    const lastOfFirst = parseEntry((await lines(join(sub, segs[0]![1]))).at(-1)!);
    const firstOfSecond = parseEntry((await lines(join(sub, segs[1]![1])))[0]!);
    assert.ok(lastOfFirst.ok && firstOfSecond.ok);
    assert.equal(firstOfSecond.entry.prev, lastOfFirst.entry.hash);
    assert.equal(firstOfSecond.entry.seq, lastOfFirst.entry.seq + 1);
    // Reopening with an empty active file finds the head in the last segment.
    ledger = await Ledger.open({ path, maxFileBytes: 3000 });
    const next = await ledger.append('intent', sampleIntent(99));
    await ledger.close();
    assert.equal(next.seq, 10);
  });

  it('signs the last entry of each group commit; the head carries the signature', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = createHeadSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const verifier = createHeadVerifier(publicKey.export({ type: 'spki', format: 'pem' }));
    const path = join(dir, 'signed.jsonl');
    const ledger = await Ledger.open({ path, signer });
    await Promise.all([1, 2, 3].map((i) => ledger.append('intent', sampleIntent(i))));
    const head = ledger.head()!;
    await ledger.close();
    assert.equal(head.keyId, verifier.keyId);
    assert.ok(head.signature && verifier.verify(head.seq, head.hash, head.signature));
    assert.equal(verifier.verify(head.seq, GENESIS_HASH, head.signature), false);
    const entries = (await lines(path)).map((l) => parseEntry(l));
    const last = entries.at(-1)!;
    assert.ok(last.ok && last.entry.sig === head.signature);
  });

  it('writes the same line from bytes as from text, multi-byte characters included', () => {
    const json = canonicalJson({ ...sampleIntent(1), reason: 'écriture refusée \ud83d\ude00' });
    const sign = (seq: number, hash: string): string => `sig-${seq}-${hash.slice(7, 15)}`;
    const text = sealEntry('intent', json, { seq: 5, prev: GENESIS_HASH }, sign);
    const parts = sealEntryParts('intent', Buffer.from(json, 'utf8'), { seq: 5, prev: GENESIS_HASH }, sign);
    const second = sealEntryParts('outcome', Buffer.from('{"x":"\u00e9"}', 'utf8'), { seq: 6, prev: parts.hash });
    const batch = writeParts([parts, second]);
    assert.equal(batch.toString('utf8'), text.line + sealEntry('outcome', '{"x":"\u00e9"}', { seq: 6, prev: text.hash }).line);
    assert.equal(batch.byteLength, parts.length + second.length);
    assert.equal(parts.hash, text.hash);
    assert.equal(parts.sig, text.sig);
  });

  it('names segments by number beside the active file', () => {
    assert.equal(segmentPath('/x/ledger.jsonl', 7), '/x/ledger.000007.jsonl');
    assert.equal(segmentPath('/x/ledger', 7), '/x/ledger.000007');
    assert.deepEqual(segmentsOf('/x/ledger.jsonl', ['ledger.jsonl', 'ledger.000002.jsonl', 'ledger.000001.jsonl', 'other.000001.jsonl']), [
      [1, 'ledger.000001.jsonl'],
      [2, 'ledger.000002.jsonl'],
    ]);
  });
});
