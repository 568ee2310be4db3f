/**
 * The gate as a process (`portcullis dev`) shipping its ledger to a real S3
 * server (versitygw) and its heads to the witness, stopped with SIGTERM in
 * the middle of a burst of calls: every call that got its decision back is in
 * the store, the shipped ledger verifies against the witnessed head, and it
 * replays from the store alone (the recorded policy was shipped beside it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { main } from '../../src/cli/main.ts';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';
import { parseEntry } from '../../src/evidence/ledger-entry.ts';
import { readLines } from '../../src/evidence/ledger-reader.ts';
import { shippedLedgerSources } from '../../src/evidence/shipping/shipped-ledger.ts';
import { HeadWitnessService } from '../../src/controller/witness/head-witness-service.ts';
import { ObjectStoreHeadWitnessStore } from '../../src/controller/witness/head-witness-store.ts';
import { generateSigningKeys } from '../../src/evidence/signing.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const BUCKET = 'evidence';
let s3: S3Server;
let dir: string;
let witnessApp: FastifyInstance;
let witnessUrl: string;
let child: ChildProcess | undefined;

before(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  dir = await mkdtemp(join(tmpdir(), 'portcullis-ship-e2e-'));
  await writeFile(join(dir, 'token'), 'token-of-agents\n');
  const service = new HeadWitnessService({
    store: new ObjectStoreHeadWitnessStore(s3.client(), { bucket: BUCKET, prefix: 'witness/' }),
    authenticate: async (authorization) => {
      if (authorization === 'Bearer token-of-agents') return { namespace: 'agents' };
      throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, 'unknown token');
    },
  });
  witnessApp = Fastify();
  service.register(witnessApp);
  witnessUrl = await witnessApp.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await witnessApp?.close();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const env = { ...process.env, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: s3.region };
  const code = await main(args, { stdout, stderr, env, cwd: dir });
  return { code, stdout: out, stderr: err };
}

test('SIGTERM during a burst: every decision sent back is in the store and verifies against the witnessed head', async () => {
  const keys = generateSigningKeys();
  await writeFile(join(dir, 'ledger.pub'), keys.publicKeyPem);
  let out = '';
  child = spawn(process.execPath, [join(root, 'bin', 'portcullis.js'), 'dev', '--policies', 'policies', '--port', '0', '--admin-port', '0', '--ledger', join(dir, 'pod', 'ledger.jsonl'), '--token-file', join(dir, 'admin-token')], {
    cwd: root,
    env: {
      ...process.env,
      OTEL_TRACES_EXPORTER: 'none',
      PORTCULLIS_LOG_LEVEL: 'info',
      PORTCULLIS_POD_NAMESPACE: 'agents',
      PORTCULLIS_POD_NAME: 'agent-7',
      PORTCULLIS_LEDGER_SIGNING_KEY: keys.privateKeyPem,
      // Small segments, so that the burst rotates many times while it ships.
      PORTCULLIS_LEDGER_MAX_BYTES: '16384',
      PORTCULLIS_SHIP_TO: `s3://${BUCKET}/ledgers`,
      PORTCULLIS_SHIP_ENDPOINT: s3.endpoint,
      PORTCULLIS_SHIP_ACCESS_KEY_ID: s3.accessKeyId,
      PORTCULLIS_SHIP_SECRET_ACCESS_KEY: s3.secretAccessKey,
      PORTCULLIS_SHIP_INTERVAL_MS: '200',
      PORTCULLIS_WITNESS_URL: witnessUrl,
      PORTCULLIS_CONTROLLER_TOKEN_FILE: join(dir, 'token'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = child;
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const proxy = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const m = /export HTTP_PROXY=(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m && /loaded /.test(out)) resolve(m[1]!);
      else if (proc.exitCode !== null) reject(new Error(`portcullis dev exited:\n${out}`));
      else proc.stdout!.once('data', check);
    };
    proc.once('exit', check);
    check();
  });

  // A burst from 16 callers; SIGTERM once 150 decisions came back, while the rest are in flight.
  const decided = new Set<string>();
  let stopping = false;
  const caller = async (): Promise<void> => {
    while (!stopping) {
      let res: Response;
      try {
        res = await fetch(`${proxy}/tools/deploy/v1/anything`, { method: 'DELETE' });
      } catch {
        return; // the gate has closed its listener
      }
      const body = (await res.json().catch(() => ({}))) as { error?: { decisionId?: string } };
      // Calls in flight when the signal came still count: their decision was sent back.
      if (res.status === 403 && body.error?.decisionId) decided.add(body.error.decisionId);
      if (decided.size >= 150 && !stopping) {
        stopping = true;
        proc.kill('SIGTERM');
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, caller));
  const code = await exited;
  assert.equal(code, 0, out);
  assert.match(out, /ledger shipped at shutdown/);

  // The store's own copy: every decision the callers got back has its intent there.
  const sources = await shippedLedgerSources(s3.client(), { bucket: BUCKET, prefix: 'ledgers/agents/agent-7/' });
  assert.ok(sources.length > 3, `the burst rotated into several segments (${sources.length})`);
  const stored = new Set<string>();
  for (const s of sources) {
    for await (const l of readLines(s)) {
      const p = parseEntry(l.text);
      if (p.ok && p.entry.kind === 'intent') stored.add((p.entry.record as { decisionId: string }).decisionId);
    }
  }
  const missing = [...decided].filter((id) => !stored.has(id));
  assert.deepEqual(missing, [], `decisions sent back but not in the store: ${missing.length} of ${decided.size}`);

  // Whole, signed, and ending where the witness last saw it.
  const witnessed = await fetch(`${witnessUrl}/v1/ledger-heads/agents/agent-7`).then((r) => r.json() as Promise<{ head: { seq: number } }>);
  const v = await cli(['verify', `s3://${BUCKET}/ledgers/agents/agent-7/`, '--public-key', 'ledger.pub', '--head-file', `s3://${BUCKET}/witness/agents/agent-7.json`, '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = JSON.parse(v.stdout) as { entries: number; head: { seq: number }; ok: boolean };
  assert.equal(report.head.seq, witnessed.head.seq, 'the last witnessed head is the last entry shipped');

  // And it replays from the store alone: the recorded policy was shipped beside the segments.
  const r = await cli(['replay', `s3://${BUCKET}/ledgers/agents/agent-7/`, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const replay = JSON.parse(r.stdout) as { intents: number; counts: { reproduced: number } };
  assert.ok(replay.intents >= decided.size);
  assert.equal(replay.counts.reproduced, replay.intents);
});
