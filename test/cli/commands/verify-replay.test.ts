import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { main } from '../../../src/cli/main.ts';
import { Ledger } from '../../../src/evidence/ledger.ts';
import { createHeadSigner } from '../../../src/evidence/signing.ts';
import { parseEntry } from '../../../src/evidence/ledger-entry.ts';
import { headHashPrefix } from '../../../src/telemetry/metrics.ts';
import { POLICY_V1, POLICY_V2, compileDir, recordDecisions, writePolicyDir } from '../../evidence/support/policies.ts';
import { sampleIntent } from '../../evidence/support/records.ts';
import { writeBundleArchive } from '../../../src/policy/bundle-archive.ts';

let dir: string;
let ledger: string;
let v1Dir: string;
let v2Dir: string;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(args, { stdout, stderr, env: { ...process.env, PORTCULLIS_COMPILER: 'portcullis' }, cwd: dir });
  return { code, stdout: out, stderr: err };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-cli-evidence-'));
  v1Dir = await writePolicyDir(join(dir, 'v1'), POLICY_V1);
  v2Dir = await writePolicyDir(join(dir, 'v2'), POLICY_V2);
  ledger = join(dir, 'ledger.jsonl');
  await recordDecisions(ledger, await compileDir(v1Dir), 12);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('portcullis verify', () => {
  it('accepts an intact ledger (exit 0)', async () => {
    const r = await run(['verify', 'ledger.jsonl']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ledger OK: 24 entries in 1 file, head entry 23 sha256:/);
  });

  it('says which entry was edited (exit 1), also as JSON', async () => {
    const text = await readFile(ledger, 'utf8');
    const lines = text.split('\n');
    lines[5] = lines[5]!.replace('"status":200', '"status":201');
    await writeFile(join(dir, 'edited.jsonl'), lines.join('\n'));
    const r = await run(['verify', 'edited.jsonl']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /ledger BROKEN \(edited\): entry 5 \(.*edited.jsonl:6\) was edited/);
    const j = await run(['verify', '--json', 'edited.jsonl']);
    assert.equal(j.code, 1);
    const report = JSON.parse(j.stdout) as { ok: boolean; findings: { kind: string; seq: number }[] };
    assert.equal(report.ok, false);
    assert.deepEqual(report.findings.map((f) => [f.kind, f.seq]), [['edited', 5]]);
  });

  it('checks signatures with --public-key and a witnessed head with --head-file', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = createHeadSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const path = join(dir, 'signed.jsonl');
    const l = await Ledger.open({ path, signer });
    for (let i = 0; i < 3; i++) await l.append('intent', sampleIntent(i));
    await writeFile(join(dir, 'head.json'), JSON.stringify(l.head()));
    await l.close();
    const ok = await run(['verify', '--public-key', 'pub.pem', '--head-file', 'head.json', 'signed.jsonl']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /signatures: 3 valid, 0 invalid/);
    // The head can be fetched from a running sidecar's admin API.
    const headJson = await readFile(join(dir, 'head.json'), 'utf8');
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(headJson));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/ledger/head`;
      const fetched = await run(['verify', '--public-key', 'pub.pem', '--head-url', url, 'signed.jsonl']);
      assert.equal(fetched.code, 0, fetched.stdout + fetched.stderr);
    } finally {
      server.close();
    }
    // Cut the last entry: the chain is still consistent, the witnessed head is gone.
    const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    await writeFile(path, lines.slice(0, 2).map((x) => x + '\n').join(''));
    const cut = await run(['verify', '--public-key', 'pub.pem', '--head-file', 'head.json', 'signed.jsonl']);
    assert.equal(cut.code, 1);
    assert.match(cut.stdout, /ledger BROKEN \(truncated\)/);
    // The same cut, witnessed through the metrics (seq and 48-bit hash prefix).
    const h = JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as { seq: number; hash: string };
    const metric = await run(['verify', '--head', `${h.seq}:${headHashPrefix(h.hash)}`, 'signed.jsonl']);
    assert.equal(metric.code, 1);
    assert.match(metric.stdout, /ledger BROKEN \(truncated\)/);
    const earlier = parseEntry(lines[1]!);
    assert.ok(earlier.ok);
    const ok2 = await run(['verify', '--head', `1:${headHashPrefix(earlier.entry.hash)}`, 'signed.jsonl']);
    assert.equal(ok2.code, 0, ok2.stdout);
    const wrong = await run(['verify', '--head', `1:${headHashPrefix(earlier.entry.hash) + 1}`, 'signed.jsonl']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /forked/);
    // A witnessed head whose signature was forged is refused too.
    const head = JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as { signature: string };
    await writeFile(join(dir, 'forged-head.json'), JSON.stringify({ ...head, seq: 1, signature: head.signature }));
    const forged = await run(['verify', '--public-key', 'pub.pem', '--head-file', 'forged-head.json', 'signed.jsonl']);
    assert.equal(forged.code, 1);
    assert.match(forged.stdout, /witnessed head \(entry 1\) carries a signature that does not verify/);
  });

  it('exits 2 without a ledger', async () => {
    assert.equal((await run(['verify'])).code, 2);
  });
});

describe('portcullis replay', () => {
  it('reproduces every decision with the recorded policy directory', async () => {
    const r = await run(['replay', 'ledger.jsonl', '--bundle', 'v1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /replayed 12 decisions: 12 reproduced, 0 mismatched/);
  });

  it('prints the decisions another bundle would change, as a table and as JSON', async () => {
    const r = await run(['replay', 'ledger.jsonl', '--bundle', 'v2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /3 would change/);
    assert.match(r.stdout, /evaluating every recorded decision with v2: sha256:/);
    assert.match(r.stdout, /SEQ\s+TIME\s+TOOL\s+STATUS\s+RECORDED\s+REPLAYED\s+DIFFERS\s+REASON/);
    assert.match(r.stdout, /\n2\s+\S+\s+write_file\s+changed\s+deny\s+escalate\s+effect,escalation,reason\s+needs approval/);
    const failing = await run(['replay', 'ledger.jsonl', '--bundle', 'v2', '--fail-on-change']);
    assert.equal(failing.code, 1);
    const j = await run(['replay', 'ledger.jsonl', '--bundle', 'v2', '--json']);
    const report = JSON.parse(j.stdout) as { mode: string; counts: { changed: number }; rows: { decisionId: string }[] };
    assert.equal(report.mode, 'what-if');
    assert.equal(report.counts.changed, 3);
    assert.deepEqual(report.rows.map((x) => x.decisionId), ['d-1', 'd-10', 'd-11']);
  });

  it('takes the recorded policy as a bundle archive too', async () => {
    await writeFile(join(dir, 'v1.tar.gz'), await writeBundleArchive(await compileDir(v1Dir)));
    const r = await run(['replay', 'ledger.jsonl', '--bundle', 'v1.tar.gz']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /12 reproduced/);
  });

  it('uses the recorded policies kept beside the ledger without being told', async () => {
    const { storeBundle, bundleStoreFor } = await import('../../../src/evidence/bundle-store.ts');
    const sub = join(dir, 'kept');
    const { mkdir, copyFile } = await import('node:fs/promises');
    await mkdir(sub, { recursive: true });
    await copyFile(ledger, join(sub, 'ledger.jsonl'));
    await storeBundle(bundleStoreFor(join(sub, 'ledger.jsonl')), await compileDir(v1Dir));
    const r = await run(['replay', 'kept/ledger.jsonl']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /recorded policy sha256:[0-9a-f]{64}: .*bundles/);
    assert.match(r.stdout, /12 reproduced/);
  });

  it('with the recorded policy archived beside the ledger, lists exactly what a new bundle would change', async () => {
    const { storeBundle, bundleStoreFor } = await import('../../../src/evidence/bundle-store.ts');
    const { mkdir, copyFile } = await import('node:fs/promises');
    const sub = join(dir, 'whatif');
    await mkdir(sub, { recursive: true });
    await copyFile(ledger, join(sub, 'ledger.jsonl'));
    await storeBundle(bundleStoreFor(join(sub, 'ledger.jsonl')), await compileDir(v1Dir));
    // Only /prod/file-7 would now be escalated.
    await writePolicyDir(join(dir, 'v3'), POLICY_V1.replace('decision := {"effect": "deny"', 'decision := {"effect": "escalate", "reason": "needs approval"} if {\n  input.action.mcp.arguments.path == "/prod/file-7.yaml"\n} else := {"effect": "deny"'));
    const reproduced = await run(['replay', 'whatif/ledger.jsonl']);
    assert.match(reproduced.stdout, /12 reproduced/, 'the archived recorded policy is there');
    const r = await run(['replay', 'whatif/ledger.jsonl', '--bundle', 'v3', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { counts: { changed: number; unchanged: number; reproduced: number }; resolved: unknown[]; rows: { decisionId: string; recordedEffect: string; replayedEffect: string; differences: string[] }[] };
    assert.deepEqual({ changed: report.counts.changed, unchanged: report.counts.unchanged, reproduced: report.counts.reproduced }, { changed: 1, unchanged: 11, reproduced: 0 });
    assert.deepEqual(report.resolved, []);
    assert.deepEqual(
      report.rows.map((x) => [x.decisionId, x.recordedEffect, x.replayedEffect, x.differences]),
      [['d-7', 'deny', 'escalate', ['effect', 'reason']]],
    );
    const table = await run(['replay', 'whatif/ledger.jsonl', '--bundle', 'v3']);
    assert.match(table.stdout, /1 would change/);
    assert.match(table.stdout, /\n14\s+\S+\s+write_file\s+changed\s+deny\s+escalate\s+effect,reason\s+needs approval/);
    assert.equal((await run(['replay', 'whatif/ledger.jsonl', '--bundle', 'v3', '--fail-on-change'])).code, 1);
  });

  it('takes one --bundle only (exit 2)', async () => {
    assert.equal((await run(['replay', 'ledger.jsonl', '--bundle', 'v1', '--bundle', 'v2'])).code, 2);
  });

  it('says clearly when the recorded policy is not available (exit 1)', async () => {
    const r = await run(['replay', 'ledger.jsonl']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /recorded policy not available: sha256:([0-9a-f]{64}) \(12 decisions\): no \1\.tar\.gz in the bundle store .*bundles; point --bundles at the folder that holds it/);
  });
});
