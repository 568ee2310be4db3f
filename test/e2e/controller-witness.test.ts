/**
 * The controller as the witness of ledger heads, on the Kubernetes path: a
 * real kube-apiserver, the injection webhook, and witnessed heads kept in a
 * real S3 server (versitygw) under a prefix of their own. A sidecar's head is
 * accepted only with the pod's projected token (TokenRequest, checked by a
 * real TokenReview) and for its own namespace; a head that goes back is
 * refused; what was witnessed is served for verify. The injected sidecar
 * carries the platform's shipping destination and credentials reference.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/controller-harness.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';
import { ObjectStoreHeadWitnessStore } from '../../src/controller/witness/head-witness-store.ts';
import { HeadWitnessClient } from '../../src/sidecar/head-witness-client.ts';
import { isPortcullisError } from '../../src/errors.ts';

let h: Harness;
let s3: S3Server;
const clients: HeadWitnessClient[] = [];
const dir = mkdtempSync(join(tmpdir(), 'portcullis-witness-'));

before(async () => {
  s3 = await startS3Server({ buckets: ['evidence'] });
  h = await startHarness({
    deps: {
      witnessStore: new ObjectStoreHeadWitnessStore(s3.client(), { bucket: 'evidence', prefix: 'witness/' }),
      ledgerShipping: { to: 's3://evidence/ledgers', endpoint: s3.endpoint, region: 'us-east-1', secret: 'portcullis-ledger-shipping' },
    },
  });
  await h.namespace('agents');
  await h.namespace('other');
  for (const [ns, sa] of [['agents', 'agent'], ['other', 'intruder']] as const) {
    await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } });
  }
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await h?.close();
  await s3?.close();
});

let pods = 0;
async function injectedPod(namespace: string, serviceAccount: string): Promise<any> {
  return h.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${serviceAccount}-${++pods}`, namespace, annotations: { 'portcullis.dev/inject': 'true' } },
    spec: { serviceAccountName: serviceAccount, containers: [{ name: 'agent', image: 'ghcr.io/example/agent:1' }] },
  });
}

/** The pod's projected token as the kubelet would mount it, in a file for the witness client. */
async function tokenFileOf(pod: any): Promise<string> {
  const { namespace, name, uid } = pod.metadata;
  const token = (await h.cp.kubectlOk(['create', 'token', pod.spec.serviceAccountName, '-n', namespace, '--audience=portcullis.dev', '--duration=1h', '--bound-object-kind=Pod', `--bound-object-name=${name}`, `--bound-object-uid=${uid}`])).trim();
  const file = join(dir, `${namespace}-${name}`);
  writeFileSync(file, token);
  return file;
}

function witnessClient(tokenFile?: string): HeadWitnessClient {
  const c = new HeadWitnessClient({ controllerUrl: h.controllers[0]!.apiUrl, ...(tokenFile ? { tokenFile } : {}) });
  clients.push(c);
  return c;
}

const hash = (n: number): string => 'sha256:' + n.toString(16).padStart(64, '0');
const code = (e: unknown): string | undefined => (isPortcullisError(e) ? e.code : undefined);

test('the injected sidecar alone carries the shipping destination, its pod UID and the credentials reference', async () => {
  const pod = await injectedPod('agents', 'agent');
  const sidecar = pod.spec.initContainers.find((c: any) => c.name === 'portcullis-sidecar');
  const env = new Map<string, any>(sidecar.env.map((e: any) => [e.name, e]));
  assert.equal(env.get('PORTCULLIS_SHIP_TO').value, 's3://evidence/ledgers');
  assert.equal(env.get('PORTCULLIS_SHIP_ENDPOINT').value, s3.endpoint);
  assert.equal(env.get('PORTCULLIS_SHIP_ACCESS_KEY_ID').valueFrom.secretKeyRef.name, 'portcullis-ledger-shipping');
  assert.equal(env.get('PORTCULLIS_POD_UID').valueFrom.fieldRef.fieldPath, 'metadata.uid');
  for (const c of pod.spec.containers) assert.ok(!(c.env ?? []).some((e: any) => e.name.startsWith('PORTCULLIS_SHIP_')), c.name);
});

test('a sidecar reports its head with its projected token; the controller keeps it in the store and serves it', async () => {
  const pod = await injectedPod('agents', 'agent');
  const { name, uid } = pod.metadata;
  const client = witnessClient(await tokenFileOf(pod));
  await client.send({ namespace: 'agents', pod: name, uid, seq: 41, hash: hash(41), time: new Date().toISOString() });
  await client.send({ namespace: 'agents', pod: name, uid, seq: 97, hash: hash(97), time: new Date().toISOString() });
  // The store's own copy, under the witness prefix.
  const stored = join(s3.dir, 'evidence', 'witness', 'agents', name, `${uid}.json`);
  assert.ok(existsSync(stored), stored);
  assert.equal(JSON.parse(readFileSync(stored, 'utf8')).seq, 97);
  const res = await fetch(`${h.controllers[0]!.apiUrl}/v1/ledger-heads/agents/${name}?uid=${uid}`);
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as { head: { seq: number; hash: string } }).head.seq, 97);
  // Going back is refused, and the witnessed head stays.
  await assert.rejects(client.send({ namespace: 'agents', pod: name, uid, seq: 50, hash: hash(50), time: new Date().toISOString() }), (e) => code(e) === 'PORTCULLIS_HEAD_REGRESSED');
  await assert.rejects(client.send({ namespace: 'agents', pod: name, uid, seq: 97, hash: hash(98), time: new Date().toISOString() }), (e) => code(e) === 'PORTCULLIS_HEAD_REGRESSED');
  assert.equal(JSON.parse(readFileSync(stored, 'utf8')).hash, hash(97));
});

test('another namespace\'s sidecar, or no token, cannot report a head', async () => {
  const intruder = await injectedPod('other', 'intruder');
  const c = witnessClient(await tokenFileOf(intruder));
  const head = { namespace: 'agents', pod: 'agent-1', seq: 1000, hash: hash(1000), time: new Date().toISOString() };
  await assert.rejects(c.send(head), (e) => code(e) === 'PORTCULLIS_FORBIDDEN');
  await assert.rejects(witnessClient().send(head), (e) => code(e) === 'PORTCULLIS_UNAUTHENTICATED');
});
