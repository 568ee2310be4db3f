// SIGKILL at any moment leaves a ledger that verify accepts up to its last
// complete entry, and no action ran without its intent entry.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { generateSigningKeys, createHeadVerifier } from '../../src/evidence/signing.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyLedger } from '../../src/evidence/verify.ts';
import { parseEntry } from '../../src/evidence/ledger-entry.ts';

const child = join(import.meta.dirname, 'support', 'append-child.ts');
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-crash-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the child until `delayMs` after it is ready, kills it with SIGKILL, returns the IDs it executed. */
function runAndKill(path: string, round: number, delayMs: number, keyFile?: string, durability = 'fsync'): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', child, path, String(round), ...(keyFile ? [keyFile] : [])];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LEDGER_DURABILITY: durability } });
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      out += d;
      if (!timer && out.includes('ready\n')) timer = setTimeout(() => p.kill('SIGKILL'), delayMs);
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited by itself (code ${code})`));
      else resolve([...out.matchAll(/^executed (\S+)$/gm)].map((m) => m[1]!));
    });
  });
}

async function ledgerFiles(sub = dir, stem = 'ledger'): Promise<string[]> {
  return (await readdir(sub)).filter((f) => f.startsWith(stem)).map((f) => join(sub, f));
}

async function intentIds(files: string[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const f of files) {
    for (const line of (await readFile(f, 'utf8')).split('\n')) {
      const p = parseEntry(line);
      if (p.ok && p.entry.kind === 'intent') ids.add((p.entry.record as { decisionId: string }).decisionId);
    }
  }
  return ids;
}

describe('ledger under SIGKILL', () => {
  it("verifies after every kill, and every executed action has its intent", async (t) => {
    const path = join(dir, 'ledger.jsonl');
    const delays = [30, 170, 90, 320, 5];
    let executedTotal = 0;
    for (const [round, delay] of delays.entries()) {
      const executed = await runAndKill(path, round, delay);
      executedTotal += executed.length;
      const files = await ledgerFiles();
      const report = await verifyLedger(files);
      assert.equal(report.ok, true, `round ${round}: ${JSON.stringify(report.findings.slice(0, 3))}`);
      const ids = await intentIds(files);
      const missing = executed.filter((id) => !ids.has(id));
      assert.deepEqual(missing, [], `round ${round}: actions executed without a recorded intent`);
    }
    t.diagnostic(`${executedTotal} actions executed over ${delays.length} kills`);
    assert.ok(executedTotal > 0, 'the child executed actions before being killed');
  });

  it('write durability: a SIGKILL of the process loses no intent of an executed action (the kernel holds what was written)', async () => {
    const path = join(dir, 'written.jsonl');
    let executedTotal = 0;
    for (const [round, delay] of [40, 130, 10].entries()) {
      const executed = await runAndKill(path, round, delay, undefined, 'write');
      executedTotal += executed.length;
      const files = await ledgerFiles(dir, 'written');
      const report = await verifyLedger(files);
      assert.equal(report.ok, true, `round ${round}: ${JSON.stringify(report.findings.slice(0, 3))}`);
      const ids = await intentIds(files);
      assert.deepEqual(executed.filter((id) => !ids.has(id)), [], `round ${round}: actions executed without a recorded intent`);
    }
    assert.ok(executedTotal > 0, 'the child executed actions before being killed');
  });

  it('with signing: signatures still verify after kills; only a batch cut by the kill may be left unsigned', async () => {
    const keys = generateSigningKeys();
    const keyFile = join(dir, 'signing.key');
    await writeFile(keyFile, keys.privateKeyPem, { mode: 0o600 });
    const verifier = createHeadVerifier(keys.publicKeyPem);
    const path = join(dir, 'signed.jsonl');
    for (const [round, delay] of [60, 150].entries()) {
      await runAndKill(path, round, delay, keyFile);
      const report = await verifyLedger(await ledgerFiles(dir, 'signed'), { verifier, allowUnsignedTail: true });
      assert.equal(report.ok, true, `round ${round}: ${JSON.stringify(report.findings.slice(0, 3))}`);
      assert.equal(report.signatures.invalid, 0);
      assert.ok(report.signatures.valid > 0);
    }
  });
});
