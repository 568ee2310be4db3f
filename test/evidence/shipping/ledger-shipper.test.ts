/**
 * Ledger shipping against a real S3 server (versitygw over a directory) and
 * the controller's witness service over HTTP, backed by the same store under
 * a prefix of its own. What arrived is read from the server's own directory,
 * not from what the shipper says it sent.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { main } from '../../../src/cli/main.ts';
import { ErrorCodes, isPortcullisError, PortcullisError } from '../../../src/errors.ts';
import { createLedgerRecorder, type LedgerRecorder } from '../../../src/evidence/ledger-recorder.ts';
import { segmentsOf } from '../../../src/evidence/ledger.ts';
import { readShippedHead } from '../../../src/evidence/shipped-head.ts';
import { LedgerShipper } from '../../../src/evidence/shipping/ledger-shipper.ts';
import { shippedLedgerSources } from '../../../src/evidence/shipping/shipped-ledger.ts';
import type { S3Client } from '../../../src/evidence/shipping/s3-client.ts';
import { createHeadSigner, createHeadVerifier, generateSigningKeys } from '../../../src/evidence/signing.ts';
import { verifyLedger } from '../../../src/evidence/verify.ts';
import { HeadWitnessService } from '../../../src/controller/witness/head-witness-service.ts';
import { ObjectStoreHeadWitnessStore } from '../../../src/controller/witness/head-witness-store.ts';
import { HeadWitnessClient } from '../../../src/sidecar/head-witness-client.ts';
import { createMetrics } from '../../../src/telemetry/metrics.ts';
import { sampleIntent, sampleOutcome } from '../support/records.ts';
import { startS3Server, type S3Server } from '../../support/s3-server.ts';

const BUCKET = 'evidence';
const keys = generateSigningKeys();
let s3: S3Server;
let client: S3Client;
let dir: string;
let witnessApp: FastifyInstance;
let witnessUrl: string;
let tokenFile: string;
const clients: HeadWitnessClient[] = [];

before(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  client = s3.client();
  dir = await mkdtemp(join(tmpdir(), 'portcullis-shipping-'));
  tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'token-of-ns1\n');
  // The controller's witness; its callers are authenticated by token (TokenReview in the controller).
  const service = new HeadWitnessService({
    store: new ObjectStoreHeadWitnessStore(s3.client(), { bucket: BUCKET, prefix: 'witness/' }),
    authenticate: async (authorization) => {
      if (authorization === 'Bearer token-of-ns1') return { namespace: 'ns1' };
      throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, 'unknown token');
    },
  });
  witnessApp = Fastify();
  service.register(witnessApp);
  witnessUrl = await witnessApp.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await witnessApp?.close();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Rig {
  path: string;
  pod: string;
  recorder: LedgerRecorder;
  shipper: LedgerShipper;
  metrics: ReturnType<typeof createMetrics>;
  prefix: string;
  next: number;
}

async function rig(pod: string, maxFileBytes = 3000): Promise<Rig> {
  const path = join(dir, pod, 'ledger.jsonl');
  const metrics = createMetrics({ processMetrics: false });
  const recorder = await createLedgerRecorder({ path, maxFileBytes, signer: createHeadSigner(keys.privateKeyPem) });
  const witness = new HeadWitnessClient({ controllerUrl: witnessUrl, tokenFile });
  clients.push(witness);
  const prefix = `ledgers/ns1/${pod}/`;
  const shipper = new LedgerShipper({
    ledger: { path, head: () => recorder.head(), seal: () => recorder.seal(), activeBytes: () => recorder.activeBytes() },
    client,
    destination: { bucket: BUCKET, prefix },
    identity: { namespace: 'ns1', pod },
    witness,
    segmentMaxAgeMs: 0,
    metrics,
  });
  return { path, pod, recorder, shipper, metrics, prefix, next: 0 };
}

/** Records `n` decisions (intent and outcome each). */
async function decide(r: Rig, n: number): Promise<void> {
  for (let i = 0; i < n; i++, r.next++) {
    await r.recorder.intent(sampleIntent(r.next));
    await r.recorder.outcome(sampleOutcome(r.next));
  }
  // The last append may have started a rotation.
  await r.recorder.idle();
}

async function localSegments(r: Rig): Promise<string[]> {
  return segmentsOf(r.path, await readdir(join(dir, r.pod))).map(([, n]) => n);
}

/** What the server holds under the pod's segments/, read from its own directory. */
async function storedSegments(r: Rig): Promise<Array<{ name: string; bytes: Buffer }>> {
  const folder = join(s3.dir, BUCKET, r.prefix, 'segments');
  if (!existsSync(folder)) return [];
  const names = (await readdir(folder)).filter((n) => n.endsWith('.jsonl')).sort();
  return Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(folder, name)) })));
}

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

async function metric(r: Rig, name: string): Promise<number> {
  const m = (await r.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return m.reduce((a, v) => a + v.value, 0);
}

describe('shipping closed segments', () => {
  it('uploads oldest first, deletes each local segment only once the store holds exactly its bytes, and keeps them through an outage', async (t) => {
    const r = await rig('order');
    await decide(r, 10);
    const segments = await localSegments(r);
    assert.ok(segments.length >= 3, `expected several segments, got ${segments.length}`);
    const original = new Map(await Promise.all(segments.map(async (n) => [n, await readFile(join(dir, r.pod, n))] as const)));

    // The store is down: nothing is deleted, decisions go on, the backlog is counted.
    await s3.stop();
    t.after(() => s3.start());
    const down = await r.shipper.tick();
    assert.equal(down.error?.code, 'PORTCULLIS_OBJECT_STORE');
    assert.deepEqual(await localSegments(r), segments);
    assert.equal(down.waiting, segments.length);
    assert.equal(await metric(r, 'portcullis_ledger_segments_waiting'), segments.length);
    await decide(r, 4);
    const during = await localSegments(r);
    assert.ok(during.length > segments.length, 'decisions made during the outage rotate into more waiting segments');
    assert.equal((await r.shipper.tick()).error?.code, 'PORTCULLIS_OBJECT_STORE');

    // Back: everything leaves, in chain order, and the store holds the very bytes.
    await s3.start();
    const up = await r.shipper.tick();
    assert.equal(up.error, undefined, up.error?.message);
    assert.equal(up.shipped, during.length);
    assert.deepEqual(await localSegments(r), []);
    assert.equal(await metric(r, 'portcullis_ledger_segments_waiting'), 0);
    assert.equal(await metric(r, 'portcullis_ledger_shipped_segments_total'), during.length);
    const stored = await storedSegments(r);
    assert.equal(stored.length, during.length);
    let expectFirst = 0;
    for (const s of stored) {
      const m = /^(\d{12})-(\d{12})\.jsonl$/.exec(s.name);
      assert.ok(m, s.name);
      assert.equal(Number(m[1]), expectFirst, `segments are contiguous: ${s.name}`);
      expectFirst = Number(m[2]) + 1;
    }
    for (const [i, name] of segments.entries()) assert.deepEqual(stored[i]!.bytes, original.get(name), `${name} arrived byte for byte`);
    // The marker says where the chain stood when the last segment left.
    assert.equal((await readShippedHead(r.path))?.seq, expectFirst - 1);

    // Nothing lost: sealing the open segment and shipping it gives the whole chain, signed, in the store.
    await decide(r, 1);
    await r.recorder.seal();
    assert.equal(r.recorder.activeBytes(), 0);
    assert.equal((await r.shipper.tick()).error, undefined);
    assert.deepEqual(await localSegments(r), []);
    const report = await verifyLedger(await shippedLedgerSources(client, { bucket: BUCKET, prefix: r.prefix }), { verifier: createHeadVerifier(keys.publicKeyPem) });
    assert.equal(report.ok, true, JSON.stringify(report.findings));
    assert.equal(report.entries, r.next * 2);
    assert.equal(report.head?.seq, r.recorder.head()?.seq);
    await r.recorder.close();
  });

  it('a restarted process continues the chain from the shipped marker when every segment has left', async () => {
    const r = await rig('restart');
    await decide(r, 6);
    await r.recorder.seal();
    assert.equal((await r.shipper.tick()).error, undefined);
    assert.deepEqual(await localSegments(r), []);
    const before = r.recorder.head()!;
    await r.recorder.close();
    const again = await createLedgerRecorder({ path: r.path, maxFileBytes: 3000, signer: createHeadSigner(keys.privateKeyPem) });
    assert.equal(again.head()?.seq, before.seq);
    const pos = await again.intent(sampleIntent(99));
    assert.equal(pos.seq, before.seq + 1);
    await again.seal();
    const shipper = new LedgerShipper({
      ledger: { path: r.path, head: () => again.head(), seal: () => again.seal(), activeBytes: () => again.activeBytes() },
      client,
      destination: { bucket: BUCKET, prefix: r.prefix },
      identity: { namespace: 'ns1', pod: r.pod },
      segmentMaxAgeMs: 0,
    });
    assert.equal((await shipper.tick()).error, undefined);
    const report = await verifyLedger(await shippedLedgerSources(client, { bucket: BUCKET, prefix: r.prefix }));
    assert.equal(report.ok, true, JSON.stringify(report.findings));
    assert.equal(report.head?.seq, before.seq + 1);
    await again.close();
  });

  it('stop() closes the open segment and ships it within the grace period', async () => {
    const r = await rig('stop', 1 << 20);
    await decide(r, 5);
    assert.deepEqual(await localSegments(r), [], 'one open segment, nothing closed yet');
    const report = await r.shipper.stop(10_000);
    assert.equal(report.error, undefined);
    assert.equal(report.shipped, 1);
    assert.equal(report.witnessedSeq, 9);
    const stored = await storedSegments(r);
    assert.deepEqual(stored.map((s) => s.name), ['000000000000-000000000009.jsonl']);
    await r.recorder.close();
  });
});

describe('shutdown with the store down', () => {
  it('gives up within the grace period and leaves the segments on the volume', async (t) => {
    const r = await rig('down-at-stop', 1 << 20);
    await decide(r, 3);
    await s3.stop();
    t.after(() => s3.start());
    const started = Date.now();
    const report = await r.shipper.stop(1500);
    assert.ok(Date.now() - started < 5000, `stop took ${Date.now() - started} ms`);
    assert.equal(report.error?.code, 'PORTCULLIS_OBJECT_STORE');
    assert.equal(report.waiting, 1, 'the sealed segment waits on the volume');
    assert.equal((await localSegments(r)).length, 1);
    await r.recorder.close();
  });
});

describe('verify and replay of a shipped ledger', () => {
  it('portcullis verify s3://… passes an intact ledger, checked against the witnessed head', async () => {
    const r = await rig('intact');
    await decide(r, 6);
    await r.shipper.stop(10_000);
    await writeFile(join(dir, 'ledger.pub'), keys.publicKeyPem);
    const ok = await cli(['verify', `s3://${BUCKET}/${r.prefix}`, '--public-key', 'ledger.pub', '--head-url', `${witnessUrl}/v1/ledger-heads/ns1/${r.pod}`]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^ledger OK: 12 entries in \d+ files?, head entry 11 /);
    // The same head straight from the witness store.
    const fromStore = await cli(['verify', `s3://${BUCKET}/${r.prefix}`, '--head-file', `s3://${BUCKET}/witness/ns1/${r.pod}.json`]);
    assert.equal(fromStore.code, 0, fromStore.stdout + fromStore.stderr);
    await r.recorder.close();
  });

  it('a segment altered in the bucket is named (edited), and one deleted leaves a named gap (deleted)', async () => {
    const r = await rig('tampered');
    await decide(r, 12);
    await r.shipper.stop(10_000);
    const stored = await storedSegments(r);
    assert.ok(stored.length >= 4);
    const folder = join(s3.dir, BUCKET, r.prefix, 'segments');
    // Altered: a decision's reason rewritten in place, as someone with write access to the bucket could.
    const altered = stored[1]!;
    const text = altered.bytes.toString('utf8').replace('writes to /prod are denied', 'writes to /prod are allowed');
    assert.notEqual(text, altered.bytes.toString('utf8'));
    await writeFile(join(folder, altered.name), text);
    const edited = await cli(['verify', `s3://${BUCKET}/${r.prefix}`]);
    assert.equal(edited.code, 1);
    assert.match(edited.stdout, /ledger BROKEN \(edited\)/);
    assert.ok(edited.stdout.includes(`s3://${BUCKET}/${r.prefix}segments/${altered.name}`), edited.stdout);
    // Deleted: a whole later segment gone.
    await writeFile(join(folder, altered.name), altered.bytes);
    const gone = stored[2]!;
    await unlink(join(folder, gone.name));
    const deleted = await cli(['verify', `s3://${BUCKET}/${r.prefix}`]);
    assert.equal(deleted.code, 1);
    assert.match(deleted.stdout, /ledger BROKEN \(deleted\)/);
    const [first, last] = gone.name.replace('.jsonl', '').split('-').map(Number);
    assert.ok(deleted.stdout.includes(`entries ${first}–${last} are missing`), deleted.stdout);
    assert.ok(deleted.stdout.includes(`s3://${BUCKET}/${r.prefix}segments/${altered.name}`), 'the gap is placed after the last segment before it');
    await r.recorder.close();
  });

  it('a head withheld: the store ends early and head.json agrees, but the witnessed head exposes the cut', async () => {
    const r = await rig('withheld');
    await decide(r, 8);
    await r.shipper.stop(10_000);
    const witnessed = r.recorder.head()!;
    const stored = await storedSegments(r);
    const folder = join(s3.dir, BUCKET, r.prefix, 'segments');
    // Whoever holds the sidecar's credentials removes the last segment and makes head.json agree.
    const last = stored.at(-1)!;
    await unlink(join(folder, last.name));
    const lastKept = stored.at(-2)!;
    const keptLines = lastKept.bytes.toString('utf8').trim().split('\n');
    const keptHead = JSON.parse(keptLines.at(-1)!) as { seq: number; hash: string };
    await writeFile(join(s3.dir, BUCKET, r.prefix, 'head.json'), JSON.stringify({ seq: keptHead.seq, hash: keptHead.hash }));
    const ownClaim = await cli(['verify', `s3://${BUCKET}/${r.prefix}`, '--head-file', `s3://${BUCKET}/${r.prefix}head.json`]);
    assert.equal(ownClaim.code, 0, 'the cut ledger agrees with its own head.json: only a witness can tell');
    const checked = await cli(['verify', `s3://${BUCKET}/${r.prefix}`, '--head-url', `${witnessUrl}/v1/ledger-heads/ns1/${r.pod}`]);
    assert.equal(checked.code, 1, checked.stdout);
    assert.match(checked.stdout, new RegExp(`ledger BROKEN \\(truncated\\): a head at entry ${witnessed.seq} was witnessed, but the ledger ends at entry ${keptHead.seq}`));
    // Nor can the sidecar take the witnessed head back.
    const client2 = new HeadWitnessClient({ controllerUrl: witnessUrl, tokenFile });
    clients.push(client2);
    await assert.rejects(
      client2.send({ namespace: 'ns1', pod: r.pod, seq: keptHead.seq, hash: keptHead.hash, time: new Date().toISOString() }),
      (e: unknown) => isPortcullisError(e) && e.code === 'PORTCULLIS_HEAD_REGRESSED',
    );
    await r.recorder.close();
  });
});

describe('a controller that keeps no witness store', () => {
  it('is reported once and shipping goes on, without retrying it at every round or at shutdown', async () => {
    const bare = Fastify();
    const url = await bare.listen({ host: '127.0.0.1', port: 0 });
    try {
      const path = join(dir, 'unwitnessed', 'ledger.jsonl');
      const recorder = await createLedgerRecorder({ path, maxFileBytes: 3000 });
      const witness = new HeadWitnessClient({ controllerUrl: url, tokenFile });
      clients.push(witness);
      const metrics = createMetrics({ processMetrics: false });
      const shipper = new LedgerShipper({
        ledger: { path, head: () => recorder.head(), seal: () => recorder.seal(), activeBytes: () => recorder.activeBytes() },
        client,
        destination: { bucket: BUCKET, prefix: 'ledgers/ns1/unwitnessed/' },
        identity: { namespace: 'ns1', pod: 'unwitnessed' },
        witness,
        segmentMaxAgeMs: 0,
        metrics,
      });
      for (let i = 0; i < 6; i++) await recorder.intent(sampleIntent(i));
      const first = await shipper.tick();
      assert.equal(first.error, undefined, first.error?.message);
      assert.ok(first.shipped > 0);
      await recorder.intent(sampleIntent(7));
      const stopped = await shipper.stop(10_000);
      assert.equal(stopped.error, undefined);
      assert.equal(stopped.waiting, 0);
      const failures = (await metrics.registry.getSingleMetric('portcullis_ledger_ship_failures_total')!.get()).values;
      assert.deepEqual(failures.map((v) => [v.labels.what, v.value]), [['witness', 1]], 'asked once, then no more');
      await recorder.close();
    } finally {
      await bare.close();
    }
  });
});

describe('the witness', () => {
  it('refuses another namespace, an unknown token, and answers 404 for a pod never witnessed', async () => {
    const other = new HeadWitnessClient({ controllerUrl: witnessUrl, tokenFile });
    clients.push(other);
    const head = { namespace: 'ns2', pod: 'p', seq: 1, hash: 'sha256:' + '0'.repeat(64), time: new Date().toISOString() };
    await assert.rejects(other.send(head), (e: unknown) => isPortcullisError(e) && e.code === 'PORTCULLIS_FORBIDDEN');
    await writeFile(join(dir, 'bad-token'), 'nope');
    const bad = new HeadWitnessClient({ controllerUrl: witnessUrl, tokenFile: join(dir, 'bad-token') });
    clients.push(bad);
    await assert.rejects(bad.send({ ...head, namespace: 'ns1' }), (e: unknown) => isPortcullisError(e) && e.code === 'PORTCULLIS_UNAUTHENTICATED');
    const traversal = await fetch(`${witnessUrl}/v1/ledger-heads/ns1/..%2F..%2Fledgers`);
    assert.equal(traversal.status, 400, 'names are checked before they become an object key');
    const res = await fetch(`${witnessUrl}/v1/ledger-heads/ns1/never`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'PORTCULLIS_HEAD_NOT_WITNESSED');
  });
});
