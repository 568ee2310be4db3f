/**
 * Bundles a sidecar can trust, on the real API server with the production
 * controller in its default configuration: the controller makes its signing
 * key (a Secret it owns) and signs every bundle; the injector gives sidecars
 * the public key, the https URL of the controller's Service and its CA; a
 * sidecar fetching over TLS with its projected token (bound to an injected
 * pod, checked by TokenReview) loads the signed bundle; one trusting another
 * key refuses it; a caller without a token is refused 401, a sidecar of a
 * namespace that may not use the bundle 403, and one whose namespace the
 * platform allowed it (annotation portcullis.dev/policies) gets it. Replicas
 * share the key and follow the Secret: a rotation needs no restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startHarness, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import { BundleClient } from '../../src/sidecar/bundle-client.ts';
import { refusalOf } from '../support/bundle-refusal.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { parseBundleVerificationKeys, SIGNATURES_PATH } from '../../src/policy/bundle-signing.ts';
import { unpackTarGz } from '../../src/policy/tar-gz.ts';
import { readBundleArchive } from '../../src/policy/bundle-archive.ts';
import type { RunningController } from '../../src/controller/controller.ts';
import { ErrorCodes } from '../../src/errors.ts';

let h: Harness;
let tls: Agent;
let httpsUrl: string;
const clients: BundleClient[] = [];
const pods = new Map<string, any>();
const tokenDir = mkdtempSync(join(tmpdir(), 'portcullis-bundle-token-'));

/** An injected pod of `namespace` (through the real injection webhook), made once. */
async function injectedPod(namespace: string): Promise<any> {
  if (!pods.has(namespace)) {
    pods.set(
      namespace,
      await h.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'agent-0', namespace, annotations: { 'portcullis.dev/inject': 'true' } },
        spec: { serviceAccountName: 'agent', containers: [{ name: 'agent', image: 'ghcr.io/example/agent:1' }] },
      }),
    );
  }
  return pods.get(namespace);
}

/** The projected token the kubelet would mount into that pod's sidecar, in a file as the sidecar reads it. */
async function tokenFileOf(namespace: string): Promise<string> {
  const pod = await injectedPod(namespace);
  const { name, uid } = pod.metadata;
  const token = (await h.cp.kubectlOk(['create', 'token', 'agent', '-n', namespace, '--audience=portcullis.dev', '--duration=1h', '--bound-object-kind=Pod', `--bound-object-name=${name}`, `--bound-object-uid=${uid}`])).trim();
  const file = join(tokenDir, namespace);
  writeFileSync(file, token);
  return file;
}

function sidecarEnv(pod: any): Record<string, string> {
  const sidecar = pod.spec.initContainers.find((c: any) => c.name === 'portcullis-sidecar');
  return Object.fromEntries(sidecar.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
}

async function fetchBundle(path: string, tokenFile?: string): Promise<{ status: number; body: Buffer }> {
  const { readFileSync } = await import('node:fs');
  const res = await request(`${httpsUrl}${path}`, { dispatcher: tls, headers: tokenFile ? { authorization: `Bearer ${readFileSync(tokenFile, 'utf8')}` } : {} });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
}

function client(namespace: string, tokenFile: string | undefined, publicKeys: string): { client: BundleClient; engine: OpaWasmEngine } {
  const engine = new OpaWasmEngine();
  const c = new BundleClient({
    controllerUrl: httpsUrl,
    ca: h.controllers[0]!.tls.caPem,
    bundle: 'agents/research',
    engine,
    logger: h.logger.child({ sidecar: namespace }),
    waitMs: 2000,
    initialBackoffMs: 50,
    maxBackoffMs: 200,
    verificationKeys: parseBundleVerificationKeys(publicKeys, 'PORTCULLIS_BUNDLE_PUBLIC_KEY'),
    ...(tokenFile ? { tokenFile } : {}),
  });
  clients.push(c);
  c.start();
  return { client: c, engine };
}

before(async () => {
  h = await startHarness();
  await h.namespace('agents');
  await h.namespace('other');
  await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared', annotations: { 'portcullis.dev/policies': 'agents/research' } } });
  for (const ns of ['agents', 'other', 'shared']) await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'agent', namespace: ns } });
  await h.apply(policyBundle('research', 'agents', { allowMethod: 'GET' }));
  await until(() => h.controllers[0]!.store.get('agents/research'), 'agents/research served');
  tls = new Agent({ connect: { ca: h.controllers[0]!.tls.caPem } });
  // The webhooks' HTTPS listener (behind the stand-in Service) serves bundles too.
  httpsUrl = `https://127.0.0.1:${h.webhookPort}`;
});

after(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await tls?.close();
  await h?.close();
});

test('the controller made its signing key in a Secret, and injected sidecars get its public key, the https URL and the CA', async () => {
  const secret = await h.kube.get('v1', 'Secret', 'portcullis-system', 'portcullis-bundle-signing');
  assert.ok(secret.data['ed25519.key'], 'the private key is kept in the Secret');
  const pub = Buffer.from(secret.data['ed25519.pub'], 'base64').toString();
  assert.equal(h.controllers[0]!.bundlePublicKeys.trim(), pub.trim());
  const env = sidecarEnv(await injectedPod('agents'));
  assert.equal(env.PORTCULLIS_CONTROLLER_URL, 'https://portcullis-controller.portcullis-system.svc:443', 'TLS is the default');
  assert.equal(env.PORTCULLIS_CONTROLLER_CA, h.controllers[0]!.tls.caPem);
  assert.equal(env.PORTCULLIS_BUNDLE_PUBLIC_KEY!.trim(), pub.trim());
  assert.equal(env.PORTCULLIS_CONTROLLER_TOKEN_FILE, '/var/run/secrets/portcullis/token');
});

test('a sidecar with its projected token, over TLS, loads the signed bundle and enforces it', async () => {
  const tokenFile = await tokenFileOf('agents');
  const served = await fetchBundle('/v1/bundles/agents/research', tokenFile);
  assert.equal(served.status, 200);
  assert.ok((await unpackTarGz(served.body)).has(SIGNATURES_PATH), 'the archive is signed');
  const { client: c, engine } = client('agents', tokenFile, h.controllers[0]!.bundlePublicKeys);
  await until(() => c.digest() === h.controllers[0]!.store.get('agents/research')!.digest, 'the sidecar on the served digest');
  assert.equal((engine.evaluate({ action: { http: { method: 'GET' } } }).result as any).effect, 'allow');
  assert.equal(refusalOf(c), undefined);
});

test('a sidecar given another key refuses the bundle (PORTCULLIS_BUNDLE_SIGNATURE) and loads nothing', async () => {
  const stranger = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const { client: c } = client('agents', await tokenFileOf('agents'), stranger);
  const refusal = await until(() => refusalOf(c), 'a refusal');
  assert.equal(refusal.code, ErrorCodes.BUNDLE_SIGNATURE);
  assert.match(refusal.message, /does not trust/);
  assert.equal(c.digest(), undefined, 'nothing unverified is enforced');
});

test('no token → 401; a sidecar of a namespace that may not use the bundle → 403; one the platform allowed → 200', async () => {
  const none = await fetchBundle('/v1/bundles/agents/research');
  assert.equal(none.status, 401);
  assert.equal(JSON.parse(none.body.toString()).error.code, ErrorCodes.UNAUTHENTICATED);
  const other = await fetchBundle('/v1/bundles/agents/research', await tokenFileOf('other'));
  assert.equal(other.status, 403);
  assert.equal(JSON.parse(other.body.toString()).error.code, ErrorCodes.FORBIDDEN);
  assert.match(JSON.parse(other.body.toString()).error.message, /namespace other/);
  // The plain HTTP port checks the same way.
  const plain = await fetch(`${h.controllers[0]!.apiUrl}/v1/bundles/agents/research`);
  assert.equal(plain.status, 401);
  // Refused before the long poll: not held for the wait.
  const started = Date.now();
  assert.equal((await fetchBundle('/v1/bundles/agents/research?wait=30s', await tokenFileOf('other'))).status, 403);
  assert.ok(Date.now() - started < 10_000);
  const shared = await fetchBundle('/v1/bundles/agents/research', await tokenFileOf('shared'));
  assert.equal(shared.status, 200);
  const { client: c } = client('shared', await tokenFileOf('shared'), h.controllers[0]!.bundlePublicKeys);
  await until(() => c.digest(), 'the shared namespace sidecar loads the allowed bundle');
});

test('a sidecar refused 403 says so and keeps no bundle', async () => {
  const { client: c } = client('other', await tokenFileOf('other'), h.controllers[0]!.bundlePublicKeys);
  const refusal = await until(() => refusalOf(c), 'a refusal');
  assert.equal(refusal.code, ErrorCodes.FORBIDDEN);
  assert.equal(c.digest(), undefined);
});

test('a replica started later signs with the same key', async () => {
  const second = await h.startReplica('controller-late');
  assert.equal(second.bundlePublicKeys, h.controllers[0]!.bundlePublicKeys);
  await until(() => second.store.get('agents/research'), 'the second replica serves the bundle');
  assert.deepEqual(Buffer.from(second.store.get('agents/research')!.archive), Buffer.from(h.controllers[0]!.store.get('agents/research')!.archive), 'the same signed bytes');
});

test('a rotation without restarts: trusted.pub reaches newly injected sidecars; a new key signs what is served at once, and sidecars that trust only the old one keep their bundle', async () => {
  const secretPath = '/api/v1/namespaces/portcullis-system/secrets/portcullis-bundle-signing';
  const pem = (k: KeyObject, type: 'spki' | 'pkcs8') => k.export({ type, format: 'pem' }).toString();
  const oldKeys = h.controllers[0]!.bundlePublicKeys;
  const next = generateKeyPairSync('ed25519');
  // A sidecar that trusts only the old key, on the bundle already.
  const { client: old } = client('agents', await tokenFileOf('agents'), oldKeys);
  await until(() => old.digest(), 'the old-key sidecar on the bundle');
  // Step one: the next public key in trusted.pub; every replica hands out both.
  let secret = await h.kube.get('v1', 'Secret', 'portcullis-system', 'portcullis-bundle-signing');
  await h.kube.send('PUT', secretPath, { ...secret, data: { ...secret.data, 'trusted.pub': Buffer.from(pem(next.publicKey, 'spki')).toString('base64') } });
  await until(() => h.controllers.every((c) => c.bundlePublicKeys === oldKeys + pem(next.publicKey, 'spki')), 'every replica hands out both keys');
  const injected = sidecarEnv(await h.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent-rotated', namespace: 'agents', annotations: { 'portcullis.dev/inject': 'true' } }, spec: { serviceAccountName: 'agent', containers: [{ name: 'agent', image: 'ghcr.io/example/agent:1' }] } }));
  assert.equal(parseBundleVerificationKeys(injected.PORTCULLIS_BUNDLE_PUBLIC_KEY!, 'K').length, 2, 'a pod injected now trusts both');
  // Step two: the next key signs.
  secret = await h.kube.get('v1', 'Secret', 'portcullis-system', 'portcullis-bundle-signing');
  await h.kube.send('PUT', secretPath, { ...secret, data: { 'ed25519.key': Buffer.from(pem(next.privateKey, 'pkcs8')).toString('base64'), 'ed25519.pub': Buffer.from(pem(next.publicKey, 'spki')).toString('base64') } });
  const nextOnly = parseBundleVerificationKeys(pem(next.publicKey, 'spki'), 'K');
  const signedByNext = async (c: RunningController): Promise<boolean> => {
    const served = c.store.get('agents/research');
    return !!served && (await readBundleArchive(served.archive, { verificationKeys: nextOnly }).then(() => true, () => false));
  };
  for (const c of h.controllers) await until(() => signedByNext(c), 'every replica serves the bundle signed with the next key');
  // The old-key sidecar keeps the bundle it verified (the tag did not change); a new one trusting only the old key is refused.
  assert.equal(old.digest(), h.controllers[0]!.store.get('agents/research')!.digest);
  const { client: stale } = client('agents', await tokenFileOf('agents'), oldKeys);
  assert.equal((await until(() => refusalOf(stale), 'the stale-key sidecar refused')).code, ErrorCodes.BUNDLE_SIGNATURE);
  const { client: fresh } = client('agents', await tokenFileOf('agents'), injected.PORTCULLIS_BUNDLE_PUBLIC_KEY!);
  await until(() => fresh.digest(), 'a sidecar injected during the rotation loads the newly signed bundle');
});
