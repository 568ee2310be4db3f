// The filler the active ledger file keeps ahead of its entries (ledger-space.ts) and its recovery after a crash (ledger-tail.ts).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../../src/evidence/ledger.ts';
import { parseEntry } from '../../src/evidence/ledger-entry.ts';
import { verifyLedger } from '../../src/evidence/verify.ts';
import { replayLedger } from '../../src/evidence/replay.ts';
import { ErrorCodes, type PortcullisError } from '../../src/errors.ts';
import { sampleIntent, sampleOutcome } from './support/records.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-filler-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CHUNK = 64 * 1024;

/** The bytes after the last entry's newline. */
function tailAfterEntries(text: string): string {
  return text.slice(text.lastIndexOf('}\n') + 2);
}

describe('Ledger filler', () => {
  it('keeps newline filler ahead of the entries, overwrites it without growing the file, and cuts it off on close', async () => {
    const path = join(dir, 'ahead', 'ledger.jsonl');
    const ledger = await Ledger.open({ path, fillerChunkBytes: CHUNK });
    await ledger.append('intent', sampleIntent(1));
    await ledger.idle();
    const first = (await stat(path)).size;
    assert.ok(first >= CHUNK, `the file holds a chunk of filler (${first} bytes)`);
    assert.match(tailAfterEntries(await readFile(path, 'utf8')), /^\n+$/, 'only newlines follow the entries');
    await ledger.append('outcome', sampleOutcome(1));
    await ledger.append('intent', sampleIntent(2));
    await ledger.idle();
    assert.equal((await stat(path)).size, first, 'the commits were written over the filler');
    assert.equal(ledger.activeBytes < first, true);
    // An open ledger with filler reads as its entries alone.
    const open = await verifyLedger([path]);
    assert.equal(open.ok, true, JSON.stringify(open.findings));
    assert.equal(open.entries, 3);
    assert.equal((await replayLedger([path], {})).intents, 2);
    await ledger.close();
    const text = await readFile(path, 'utf8');
    assert.equal(text.length, ledger.activeBytes, 'the closed file ends with its last entry');
    assert.ok(text.endsWith('}\n'));
  });

  it('writes a commit larger than the filler ahead past it, and starts more', async () => {
    const path = join(dir, 'past', 'ledger.jsonl');
    const ledger = await Ledger.open({ path, fillerChunkBytes: 4096 });
    await ledger.idle();
    const big = { ...sampleIntent(1), reason: 'x'.repeat(20_000) };
    await ledger.append('intent', big);
    await ledger.idle();
    assert.ok((await stat(path)).size > ledger.activeBytes, 'filler was written after the large entry');
    const again = await ledger.append('intent', sampleIntent(2));
    assert.equal(again.seq, 1);
    await ledger.close();
    const report = await verifyLedger([path]);
    assert.equal(report.ok, true, JSON.stringify(report.findings));
    assert.equal(report.entries, 2);
  });

  it('closes rotated segments without filler', async () => {
    const path = join(dir, 'rotate', 'ledger.jsonl');
    const ledger = await Ledger.open({ path, fillerChunkBytes: CHUNK, maxFileBytes: 4000 });
    for (let i = 0; i < 12; i++) await ledger.append('intent', sampleIntent(i));
    await ledger.close();
    const names = (await readdir(join(dir, 'rotate'))).sort();
    assert.ok(names.length > 2, names.join());
    for (const name of names) {
      const text = await readFile(join(dir, 'rotate', name), 'utf8');
      assert.ok(text === '' || (text.endsWith('}\n') && !text.includes('\n\n')), `${name} holds entries only`);
    }
    const report = await verifyLedger(names.map((n) => join(dir, 'rotate', n)));
    assert.equal(report.ok, true, JSON.stringify(report.findings));
    assert.equal(report.entries, 12);
  });

  it('after a crash mid-commit, cuts the torn lines left in the filler and chains on from the last entry', async () => {
    const path = join(dir, 'torn', 'ledger.jsonl');
    let ledger = await Ledger.open({ path, fillerChunkBytes: 0 });
    const a = await ledger.append('intent', sampleIntent(1));
    await ledger.close();
    // What a commit cut short by a crash leaves: pieces of its lines, with filler where its other sectors never landed.
    await appendFile(path, '{"hash":"sha256:12ab' + '\n'.repeat(700) + '"kind":"intent","prev"' + '\n'.repeat(5000));
    ledger = await Ledger.open({ path, fillerChunkBytes: 0 });
    const b = await ledger.append('intent', sampleIntent(2));
    await ledger.close();
    assert.equal(b.seq, a.seq + 1);
    const entries = (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => parseEntry(l));
    assert.equal(entries.length, 2);
    assert.ok(entries[1]!.ok && entries[1].entry.prev === a.hash);
  });

  it('cuts a crashed ledger\'s filler on open, and still refuses an edited last entry before it', async () => {
    const path = join(dir, 'edited', 'ledger.jsonl');
    const ledger = await Ledger.open({ path, fillerChunkBytes: 0 });
    await ledger.append('intent', sampleIntent(1));
    await ledger.close();
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"reason":"', '"reason":"edited ') + '\n'.repeat(3000));
    await assert.rejects(Ledger.open({ path }), (e: PortcullisError) => e.code === ErrorCodes.LEDGER_CORRUPT);
  });
});
