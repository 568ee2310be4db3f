import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { Ledger } from '../../src/evidence/ledger.ts';
import { entryHash, parseEntry, sealEntry } from '../../src/evidence/ledger-entry.ts';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { createHeadSigner, createHeadVerifier } from '../../src/evidence/signing.ts';
import { verifyLedger, type BreakKind } from '../../src/evidence/verify.ts';
import { sampleIntent, sampleOutcome } from './support/records.ts';

let dir: string;
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-verify-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A ledger of `count` intent/outcome pairs; returns its path and lines. */
async function makeLedger(count: number, opts: { signer?: ReturnType<typeof createHeadSigner>; maxFileBytes?: number } = {}): Promise<{ path: string; lines: string[] }> {
  const path = join(dir, `l${++n}`, 'ledger.jsonl');
  const ledger = await Ledger.open({ path, ...opts });
  for (let i = 0; i < count; i++) {
    await ledger.append('intent', sampleIntent(i));
    await ledger.append('outcome', sampleOutcome(i));
  }
  await ledger.close();
  return { path, lines: (await readFile(path, 'utf8')).split('\n').filter(Boolean) };
}

async function rewrite(path: string, lines: string[]): Promise<void> {
  await writeFile(path, lines.map((l) => l + '\n').join(''));
}

function kinds(report: { findings: { kind: BreakKind }[] }): BreakKind[] {
  return report.findings.map((f) => f.kind);
}

describe('verifyLedger', () => {
  it('accepts an intact ledger and reports its head', async () => {
    const { path, lines } = await makeLedger(3);
    const r = await verifyLedger([path]);
    assert.equal(r.ok, true, JSON.stringify(r.findings));
    assert.equal(r.entries, 6);
    const last = parseEntry(lines.at(-1)!);
    assert.ok(last.ok);
    assert.equal(r.head?.seq, 5);
    assert.equal(r.head?.hash, last.entry.hash);
  });

  it('names an entry edited in place', async () => {
    const { path, lines } = await makeLedger(3);
    lines[2] = lines[2]!.replace('writes to /prod are denied', 'writes to /prod are allowed');
    await rewrite(path, lines);
    const r = await verifyLedger([path]);
    assert.equal(r.ok, false);
    assert.deepEqual(kinds(r), ['edited']);
    assert.equal(r.findings[0]!.seq, 2);
    assert.equal(r.findings[0]!.line, 3);
  });

  it('names an entry rewritten with a recomputed hash (the next link breaks)', async () => {
    const { path, lines } = await makeLedger(3);
    const p = parseEntry(lines[2]!);
    assert.ok(p.ok);
    const record = { ...p.entry.record, reason: 'allowed after all' };
    lines[2] = sealEntry(p.entry.kind, canonicalJson(record), p.entry).line.trimEnd();
    await rewrite(path, lines);
    const r = await verifyLedger([path]);
    assert.deepEqual(kinds(r), ['edited']);
    assert.equal(r.findings[0]!.seq, 3);
    assert.match(r.findings[0]!.message, /entry 2 was rewritten/);
  });

  it('names deleted entries', async () => {
    const { path, lines } = await makeLedger(3);
    lines.splice(2, 2);
    await rewrite(path, lines);
    const r = await verifyLedger([path]);
    assert.deepEqual(kinds(r), ['deleted']);
    assert.match(r.findings[0]!.message, /entries 2–3 are missing after entry 1/);
  });

  it('names reordered entries', async () => {
    const { path, lines } = await makeLedger(3);
    [lines[2], lines[3]] = [lines[3]!, lines[2]!];
    await rewrite(path, lines);
    const r = await verifyLedger([path]);
    assert.deepEqual(kinds(r), ['reordered']);
    assert.equal(r.findings[0]!.seq, 2);
  });

  it('names a duplicated entry and a fork', async () => {
    const { path, lines } = await makeLedger(2);
    await rewrite(path, [...lines.slice(0, 3), lines[1]!, lines[3]!]);
    assert.deepEqual(kinds(await verifyLedger([path])), ['duplicated']);
    const p = parseEntry(lines[1]!);
    assert.ok(p.ok);
    const other = sealEntry(p.entry.kind, canonicalJson({ ...p.entry.record, status: 500 }), p.entry).line.trimEnd();
    await rewrite(path, [...lines, other]);
    const r = await verifyLedger([path]);
    assert.deepEqual(kinds(r), ['forked']);
    assert.match(r.findings[0]!.message, /two different entries claim seq 1/);
  });

  it('tolerates an unterminated last line (interrupted write) and reports it', async () => {
    const { path, lines } = await makeLedger(2);
    await appendFile(path, lines[0]!.slice(0, 40));
    const r = await verifyLedger([path]);
    assert.equal(r.ok, true);
    assert.equal(r.entries, 4);
    assert.equal(r.tornTail?.line, 5);
  });

  it('names a ledger cut at the front, and one cut at the back against a witnessed head', async () => {
    const { path, lines } = await makeLedger(3);
    const head = parseEntry(lines.at(-1)!);
    assert.ok(head.ok);
    await rewrite(path, lines.slice(2));
    assert.deepEqual(kinds(await verifyLedger([path])), ['truncated']);
    assert.equal((await verifyLedger([path], { allowPartialStart: true })).ok, true);
    await rewrite(path, lines.slice(0, 4));
    assert.equal((await verifyLedger([path])).ok, true, 'a clean cut is invisible without a witness');
    const r = await verifyLedger([path], { witnessedHead: { seq: head.entry.seq, hash: head.entry.hash } });
    assert.deepEqual(kinds(r), ['truncated']);
    assert.match(r.findings[0]!.message, /witnessed/);
  });

  it('flags an outcome with no intent before it', async () => {
    const { path, lines } = await makeLedger(1);
    const p = parseEntry(lines[1]!);
    assert.ok(p.ok);
    const orphan = sealEntry('outcome', canonicalJson(sampleOutcome(42)), { seq: 2, prev: p.entry.hash }).line.trimEnd();
    await rewrite(path, [...lines, orphan]);
    assert.deepEqual(kinds(await verifyLedger([path])), ['orphan']);
  });

  it('follows the chain across rotated files given in any order', async () => {
    const { path } = await makeLedger(6, { maxFileBytes: 2500 });
    const d = join(path, '..');
    const files = (await readdir(d)).map((f) => join(d, f)).sort().reverse();
    assert.ok(files.length > 2);
    const r = await verifyLedger(files);
    assert.equal(r.ok, true, JSON.stringify(r.findings));
    assert.equal(r.entries, 12);
    // Leaving a middle segment out is a deletion.
    const missing = await verifyLedger(files.filter((f) => !f.endsWith('.000002.jsonl')));
    assert.deepEqual(kinds(missing), ['deleted']);
  });

  describe('with signatures', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = createHeadSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const verifier = createHeadVerifier(publicKey.export({ type: 'spki', format: 'pem' }));

    it('accepts a signed ledger', async () => {
      const { path } = await makeLedger(2, { signer });
      const r = await verifyLedger([path], { verifier });
      assert.equal(r.ok, true, JSON.stringify(r.findings));
      assert.equal(r.signatures.valid, 4);
      assert.equal(r.signedHead?.seq, 3);
    });

    it('detects a wholesale rewrite by someone without the key', async () => {
      const { path, lines } = await makeLedger(2, { signer });
      // Re-seal every entry from entry 1 with a changed record, carrying the old signatures along.
      const out = [lines[0]!];
      let prev = parseEntry(lines[0]!);
      assert.ok(prev.ok);
      let prevHash = prev.entry.hash;
      for (const l of lines.slice(1)) {
        const p = parseEntry(l);
        assert.ok(p.ok);
        const record = p.entry.kind === 'outcome' ? { ...p.entry.record, status: 201 } : p.entry.record;
        const sealed = sealEntry(p.entry.kind, canonicalJson(record), { seq: p.entry.seq, prev: prevHash }, () => p.entry.sig ?? '');
        out.push(sealed.line.trimEnd());
        prevHash = sealed.hash;
      }
      await rewrite(path, out);
      assert.equal((await verifyLedger([path])).ok, true, 'the chain alone is consistent');
      const r = await verifyLedger([path], { verifier });
      assert.equal(r.ok, false);
      assert.ok(kinds(r).includes('signature'));
      assert.equal(r.findings[0]!.seq, 1);
      assert.equal(r.signedHead?.seq, 0);
    });

    it('rejects an unsigned ledger when a key is given', async () => {
      const { path } = await makeLedger(1);
      const r = await verifyLedger([path], { verifier });
      assert.deepEqual(kinds(r), ['signature']);
    });
  });

  it('reports progress and recomputes hashes from parsed lines', async () => {
    const { path, lines } = await makeLedger(2);
    const seen: number[] = [];
    await verifyLedger([path], { onProgress: (p) => seen.push(p.entries) });
    assert.equal(seen.at(-1), 4);
    for (const l of lines) {
      const p = parseEntry(l);
      assert.ok(p.ok);
      assert.equal(entryHash(p.entry), p.entry.hash);
    }
  });
});

describe('verifyLedger, first entry', () => {
  it('names a first entry that does not chain to the genesis hash', async () => {
    const { path, lines } = await makeLedger(1);
    const p = parseEntry(lines[0]!);
    assert.ok(p.ok);
    const other = sealEntry('intent', canonicalJson(p.entry.record), { seq: 0, prev: 'sha256:' + '1'.repeat(64) }).line.trimEnd();
    await rewrite(path, [other, ...lines.slice(1)]);
    const r = await verifyLedger([path]);
    // Entry 0 is not from this ledger, and entry 1 no longer links to it.
    assert.deepEqual(kinds(r), ['edited', 'edited']);
    assert.equal(r.findings[0]!.seq, 0);
    assert.match(r.findings[0]!.message, /genesis/);
  });
});

describe('verifyLedger, several findings', () => {
  it('lists them in chain order, the first being where the chain first breaks', async () => {
    const { path, lines } = await makeLedger(4);
    lines[6] = lines[6]!.replace('writes to /prod are denied', 'writes to /prod are fine');
    lines.splice(2, 1);
    await rewrite(path, lines);
    const r = await verifyLedger([path]);
    assert.deepEqual(r.findings.map((f) => [f.kind, f.seq]), [['deleted', 2], ['edited', 6]]);
  });
});
