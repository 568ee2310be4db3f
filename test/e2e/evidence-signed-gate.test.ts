/**
 * The gate as `portcullis dev` and the sidecar start it, configured only by
 * PORTCULLIS_* settings: a signed, size-rotated ledger whose head the admin
 * API serves, which `verify` accepts with the public key and that head, and
 * which `replay` reproduces from the policy the gate archived beside it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createTelemetry, startGate, type RunningGate } from '../../src/sidecar/serve.ts';
import { generateSigningKeys } from '../../src/evidence/signing.ts';
import { startPaymentsApi, type DemoApi } from '../../src/demo/http-apis.ts';
import { main } from '../../src/cli/main.ts';
import { shippedBundle, withTools } from './shipped-bundle.ts';

let dir: string | undefined;
let gate: RunningGate | undefined;
let payments: DemoApi | undefined;
after(async () => {
  await gate?.close();
  await payments?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('PORTCULLIS_LEDGER_SIGNING_KEY and _MAX_BYTES give a signed, rotated ledger that verifies against the served head', async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-signed-gate-'));
  const keys = generateSigningKeys();
  await writeFile(join(dir, 'ledger.key'), keys.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, 'ledger.pub'), keys.publicKeyPem);
  payments = await startPaymentsApi();
  const engine = new OpaWasmEngine();
  await engine.load(withTools(await shippedBundle(), { payments: payments.url }));
  const env = {
    PORTCULLIS_LEDGER: join(dir, 'ledger.jsonl'),
    PORTCULLIS_LEDGER_SIGNING_KEY: join(dir, 'ledger.key'),
    PORTCULLIS_LEDGER_MAX_BYTES: '4096',
    PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '200',
    PORTCULLIS_LOG_LEVEL: 'silent',
    OTEL_SDK_DISABLED: 'true',
  };
  const config = loadConfig(env, { port: '0', adminPort: '0' });
  gate = await startGate({ config, engine, telemetry: await createTelemetry(config, env, 'test') });
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${gate.proxyUrl}/tools/payments/v1/charges`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
  const headRes = await fetch(`${gate.adminUrl}/v1/ledger/head`);
  assert.equal(headRes.status, 200);
  const head = (await headRes.json()) as { seq: number; signature?: string; keyId?: string };
  assert.equal(head.keyId, keys.keyId);
  assert.ok(head.signature);
  await writeFile(join(dir, 'head.json'), JSON.stringify(head));
  await gate.close();
  gate = undefined;

  const files = (await readdir(dir)).filter((f) => f.startsWith('ledger') && f.endsWith('.jsonl'));
  assert.ok(files.length >= 2, `rotated: ${files.join(', ')}`);
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await main(['verify', '--public-key', 'ledger.pub', '--head-file', 'head.json', ...files], { stdout, stderr: new PassThrough(), env: {}, cwd: dir });
  assert.equal(code, 0, out);
  assert.match(out, /^ledger OK: \d+ entries in \d+ files/);
  assert.match(out, /signatures: \d+ valid, 0 invalid/);

  // The gate kept the policy that decided beside the ledger: replay needs nothing else.
  const replayOut = new PassThrough();
  let replayed = '';
  replayOut.on('data', (d: Buffer) => (replayed += d.toString()));
  const replayCode = await main(['replay', ...files], { stdout: replayOut, stderr: new PassThrough(), env: {}, cwd: dir });
  assert.equal(replayCode, 0, replayed);
  assert.match(replayed, /replayed 6 decisions: 6 reproduced, 0 mismatched/);
});

test('PORTCULLIS_LEDGER_KEEP_SEGMENTS without shipping: the gate keeps that many rotated segments, deletes older ones, and what is kept verifies from where it starts', async () => {
  const kdir = await mkdtemp(join(tmpdir(), 'portcullis-keep-gate-'));
  payments ??= await startPaymentsApi();
  const engine = new OpaWasmEngine();
  await engine.load(withTools(await shippedBundle(), { payments: payments.url }));
  const env = {
    PORTCULLIS_LEDGER: join(kdir, 'ledger.jsonl'),
    PORTCULLIS_LEDGER_MAX_BYTES: '4096',
    PORTCULLIS_LEDGER_KEEP_SEGMENTS: '1',
    PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '200',
    PORTCULLIS_LOG_LEVEL: 'silent',
    OTEL_SDK_DISABLED: 'true',
  };
  const config = loadConfig(env, { port: '0', adminPort: '0' });
  const kept = await startGate({ config, engine, telemetry: await createTelemetry(config, env, 'test') });
  try {
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${kept.proxyUrl}/tools/payments/v1/charges`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    // While the gate runs: the ledger's rotations asked for pruning, and it is done.
    await kept.recorder!.idle();
    await kept.retention!.settled();
    const live = (await readdir(kdir)).filter((f) => /^ledger\.\d{6}\.jsonl$/.test(f));
    assert.equal(live.length, 1, `pruned after rotating, before stopping: ${live.join(', ')}`);
  } finally {
    // Closing stops the retention after its last prune.
    await kept.close();
  }
  const segments = (await readdir(kdir)).filter((f) => /^ledger\.\d{6}\.jsonl$/.test(f));
  assert.equal(segments.length, 1, `one rotated segment kept: ${segments.join(', ')}`);
  assert.notEqual(segments[0], 'ledger.000001.jsonl', 'older segments were rotated and deleted');
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await main(['verify', '--allow-partial-start', 'ledger.jsonl', ...segments], { stdout, stderr: new PassThrough(), env: {}, cwd: kdir });
  assert.equal(code, 0, out);
  await rm(kdir, { recursive: true, force: true });
});

/** The open flags of this process's descriptor for `path` (Linux /proc), or undefined when none is open. */
async function openFlags(path: string): Promise<number | undefined> {
  const { readdir: list, readlink, readFile } = await import('node:fs/promises');
  for (const fd of await list('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target !== path) continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    const m = /^flags:\s+([0-7]+)$/m.exec(info);
    if (m) return parseInt(m[1]!, 8);
  }
  return undefined;
}

test('PORTCULLIS_LEDGER_DURABILITY: fsync opens the ledger with O_DSYNC; write without, and every call that arrived has its intent written', async () => {
  const { constants } = await import('node:fs');
  const { readFile } = await import('node:fs/promises');
  const wdir = await mkdtemp(join(tmpdir(), 'portcullis-durability-gate-'));
  payments ??= await startPaymentsApi();
  const engine = new OpaWasmEngine();
  await engine.load(withTools(await shippedBundle(), { payments: payments.url }));
  try {
    for (const durability of ['fsync', 'write']) {
      const ledger = join(wdir, `${durability}.jsonl`);
      const env = { PORTCULLIS_LEDGER: ledger, PORTCULLIS_LEDGER_DURABILITY: durability, PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '200', PORTCULLIS_LOG_LEVEL: 'silent', OTEL_SDK_DISABLED: 'true' };
      const config = loadConfig(env, { port: '0', adminPort: '0' });
      const running = await startGate({ config, engine, telemetry: await createTelemetry(config, env, 'test') });
      try {
        const arrivedBefore = payments.log.length;
        for (let i = 0; i < 5; i++) {
          const res = await fetch(`${running.proxyUrl}/tools/payments/v1/charges?n=${durability}-${i}`);
          assert.equal(res.status, 200);
          await res.arrayBuffer();
        }
        const flags = await openFlags(ledger);
        assert.ok(flags !== undefined, 'the gate holds the ledger open');
        assert.equal((flags & constants.O_DSYNC) !== 0, durability === 'fsync', `${durability}: O_DSYNC ${durability === 'fsync' ? 'set' : 'not set'}`);
        // Read while the gate runs: what was written is in the file, synced or not.
        const arrived = payments.log.slice(arrivedBefore);
        const intents = (await readFile(ledger, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; record: { input: { action: { http: { path: string; query: Record<string, string[]> } } } } }).filter((e) => e.kind === 'intent');
        assert.equal(arrived.length, 5);
        for (let i = 0; i < 5; i++) assert.ok(intents.some((e) => e.record.input.action.http.query.n?.[0] === `${durability}-${i}`), `${durability}: the intent of call ${i}`);
      } finally {
        await running.close();
      }
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (d: Buffer) => (out += d.toString()));
      assert.equal(await main(['verify', ledger], { stdout, stderr: new PassThrough(), env: {}, cwd: wdir }), 0, out);
    }
  } finally {
    await rm(wdir, { recursive: true, force: true });
  }
});
