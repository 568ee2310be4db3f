/**
 * The sidecar's bundle client against a bundle server on loopback: it loads
 * what is served, follows changes, refuses an archive whose digest does not
 * match or is not signed by a key it trusts, and keeps enforcing its last
 * good bundle (with one log line) while the controller is away.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { BundleStore } from '../../src/controller/bundles/bundle-store.ts';
import { registerBundleRoutes } from '../../src/controller/server/bundle-routes.ts';
import { buildBundle } from '../../src/controller/bundles/build-bundle.ts';
import { readBundleArchive, writeBundleArchive } from '../../src/policy/bundle-archive.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { BundleClient } from '../../src/sidecar/bundle-client.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { isPortcullisError } from '../../src/errors.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import type { CompiledBundle } from '../../src/policy/types.ts';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundleSigner, parseBundleVerificationKeys } from '../../src/policy/bundle-signing.ts';
import { refusalOf } from '../support/bundle-refusal.ts';
import { until } from '../support/until.ts';

const compiler = new PortcullisCompiler();
let store: BundleStore;
let app: FastifyInstance;
let port = 0;
let lines: any[] = [];
const logger = createLogger({
  level: 'info',
  destination: new Writable({
    write(c, _e, cb) {
      lines.push(JSON.parse(String(c)));
      cb();
    },
  }),
});

async function compiled(method: string): Promise<CompiledBundle> {
  const o = await buildBundle(policyBundle('b', 'ns', { allowMethod: method }).spec, compiler);
  assert.ok(o.ok);
  return o.bundle;
}

async function publish(b: CompiledBundle, archive?: Uint8Array): Promise<void> {
  store.publish({ key: 'ns/b', digest: b.digest, archive: archive ?? (await writeBundleArchive(b)), bundle: b, publishedAt: 0 });
}

async function serve(): Promise<void> {
  app = Fastify({ forceCloseConnections: true });
  registerBundleRoutes(app, store);
  await app.listen({ port, host: '127.0.0.1' });
  port = (app.server.address() as any).port;
}

before(async () => {
  store = new BundleStore();
  await serve();
});
after(() => app.close());

test('rejects a bundle name that is not NAMESPACE/NAME', () => {
  assert.throws(() => new BundleClient({ controllerUrl: 'http://x', bundle: 'justname', engine: new OpaWasmEngine(), logger }), (e) => isPortcullisError(e) && e.code === 'PORTCULLIS_CONFIG');
});

test('loads, follows a change, keeps the last good bundle while the controller is down, and recovers', async () => {
  const engine = new OpaWasmEngine();
  const metrics = createMetrics({ processMetrics: false });
  const client = new BundleClient({ controllerUrl: `http://127.0.0.1:${port}`, bundle: 'ns/b', engine, logger, metrics, waitMs: 2000, initialBackoffMs: 20, maxBackoffMs: 100 });
  client.start();
  try {
    const v1 = await compiled('GET');
    await publish(v1);
    await until(() => client.digest() === v1.digest, 'v1 loaded');
    assert.match(await metrics.registry.getSingleMetricAsString('portcullis_bundle_info'), new RegExp(`digest="${v1.digest}"`));
    assert.equal((engine.evaluate({ action: { http: { method: 'GET' } } }).result as any).effect, 'allow');

    const v2 = await compiled('PUT');
    await publish(v2);
    await until(() => client.digest() === v2.digest, 'v2 loaded');

    // The controller goes away: the client keeps enforcing v2 and says so once.
    lines = [];
    await app.close();
    await until(() => lines.some((l) => /controller unreachable/.test(l.msg)), 'the unreachable line');
    // Retries go on (backoff up to 100 ms here) without more lines.
    await until(() => (client as unknown as { failures: number }).failures >= 5, 'four more retries');
    assert.equal(client.digest(), v2.digest);
    assert.equal((engine.evaluate({ action: { http: { method: 'PUT' } } }).result as any).effect, 'allow');
    const down = lines.filter((l) => /controller unreachable/.test(l.msg));
    assert.equal(down.length, 1, JSON.stringify(lines));
    assert.match(down[0].msg, new RegExp(`keeping ${v2.digest}`));
    assert.equal(client.connected(), false);

    // It comes back with a new bundle: picked up, and one line says so.
    const v3 = await compiled('POST');
    await publish(v3);
    await serve();
    await until(() => client.digest() === v3.digest, 'v3 after recovery');
    assert.ok(lines.some((l) => l.msg === 'controller reachable again'));
  } finally {
    await client.stop();
  }
});

test('an archive that does not match its digest is refused and the old bundle stays', async () => {
  const engine = new OpaWasmEngine();
  const good = await compiled('GET');
  await publish(good);
  const client = new BundleClient({ controllerUrl: `http://127.0.0.1:${port}`, bundle: 'ns/b', engine, logger, waitMs: 500, initialBackoffMs: 20, maxBackoffMs: 50 });
  client.start();
  try {
    await until(() => client.digest() === good.digest, 'good loaded');
    lines = [];
    // A server advertising one digest and sending another bundle.
    const other = await compiled('PATCH');
    store.publish({ key: 'ns/b', digest: 'sha256:' + '0'.repeat(64), archive: await writeBundleArchive(other), bundle: other, publishedAt: 0 });
    await until(() => lines.some((l) => /refused a bundle/.test(l.msg)), 'a refusal');
    assert.equal(client.digest(), good.digest);
    // A corrupted archive.
    const bytes = await writeBundleArchive(other);
    bytes[bytes.length - 20] ^= 0xff;
    lines = [];
    store.publish({ key: 'ns/b', digest: 'sha256:' + '1'.repeat(64), archive: bytes, bundle: other, publishedAt: 0 });
    await until(() => lines.some((l) => /refused a bundle/.test(l.msg)), 'the corrupted archive refused');
    assert.equal(client.digest(), good.digest);
  } finally {
    await client.stop();
  }
});

test("a bundle's mode applies to a sidecar whose pod set none; an explicit mode wins; a mode-only change is followed", async () => {
  const { startSidecar, startUpstream, send } = await import('./helpers.ts');
  const build = async (mode: 'enforce' | 'observe'): Promise<CompiledBundle> => {
    const pb = policyBundle('m', 'ns', { allowMethod: 'GET' });
    const o = await buildBundle({ ...pb.spec, mode }, compiler);
    assert.ok(o.ok);
    return o.bundle;
  };
  const publishMode = async (b: CompiledBundle) => store.publish({ key: 'ns/m', digest: b.digest, archive: await writeBundleArchive(b), bundle: b, publishedAt: 0 });
  const observe = await build('observe');
  assert.equal((await readBundleArchive(await writeBundleArchive(observe))).mode, 'observe', 'the archive carries the mode');
  await publishMode(observe);

  const upstream = await startUpstream();
  const bundleFollower = new OpaWasmEngine();
  const client = new BundleClient({ controllerUrl: `http://127.0.0.1:${port}`, bundle: 'ns/m', engine: bundleFollower, logger, waitMs: 2000, initialBackoffMs: 20, maxBackoffMs: 100 });
  client.start();
  // As injected: no PORTCULLIS_MODE without the annotation, PORTCULLIS_MODE=enforce with portcullis.dev/mode: enforce.
  const following = await startSidecar({ engine: bundleFollower });
  const explicit = await startSidecar({ engine: bundleFollower }, {}, { PORTCULLIS_MODE: 'enforce' });
  const del = (p: number) => send(p, { method: 'DELETE', path: `${upstream.origin}/records/1` });
  try {
    await until(() => bundleFollower.current()?.mode === 'observe', 'the observe bundle loaded');
    assert.equal((await del(following.port)).status, 200, 'observe: the denied call is forwarded');
    assert.equal((await del(explicit.port)).status, 403, 'the explicit enforce of the pod wins');

    // spec.mode back to enforce: same policy, same digest, still a change the sidecar follows.
    const enforce = await build('enforce');
    assert.equal(enforce.digest, observe.digest);
    await publishMode(enforce);
    await until(() => bundleFollower.current()?.mode === 'enforce', 'the enforce bundle loaded');
    assert.equal((await del(following.port)).status, 403);
  } finally {
    await client.stop();
    await following.close();
    await explicit.close();
    await upstream.close();
  }
});

test('with keys: a bundle signed by another key, or unsigned, is refused (PORTCULLIS_BUNDLE_SIGNATURE); the last good one stays, and logs, metrics and /readyz say so', async () => {
  const pair = () => generateKeyPairSync('ed25519');
  const ours = pair();
  const signer = createBundleSigner(ours.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const stranger = createBundleSigner(pair().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const verificationKeys = parseBundleVerificationKeys(ours.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'PORTCULLIS_BUNDLE_PUBLIC_KEY');
  const engine = new OpaWasmEngine();
  const metrics = createMetrics({ processMetrics: false });
  const good = await compiled('GET');
  await publish(good, await writeBundleArchive(good, { signer }));
  const client = new BundleClient({ controllerUrl: `http://127.0.0.1:${port}`, bundle: 'ns/b', engine, logger, metrics, waitMs: 500, initialBackoffMs: 20, maxBackoffMs: 50, verificationKeys });
  client.start();
  try {
    await until(() => client.digest() === good.digest, 'the signed bundle loaded');
    assert.equal(refusalOf(client), undefined);
    lines = [];
    const forged = await compiled('POST');
    await publish(forged, await writeBundleArchive(forged, { signer: stranger }));
    await until(() => refusalOf(client), 'the foreign-signed bundle refused');
    assert.equal(refusalOf(client)!.code, 'PORTCULLIS_BUNDLE_SIGNATURE');
    assert.equal(refusalOf(client)!.keeping, good.digest);
    assert.equal(client.digest(), good.digest, 'the last good bundle stays');
    assert.deepEqual((client.readiness() as any).bundleRefused.keeping, good.digest, '/readyz says it too');
    const line = lines.find((l) => /refused a bundle from the controller/.test(l.msg));
    assert.equal(line.code, 'PORTCULLIS_BUNDLE_SIGNATURE');
    assert.match(line.msg, new RegExp(`keeping ${good.digest}`));
    assert.match(await metrics.registry.getSingleMetricAsString('portcullis_bundle_reloads_total'), /result="bad_signature"\} [1-9]/);
    // Unsigned: refused too.
    lines = [];
    const unsigned = await compiled('PATCH');
    await publish(unsigned);
    await until(() => lines.some((l) => /not signed/.test(l.msg)), 'the unsigned bundle refused');
    assert.equal(client.digest(), good.digest);
    // A bundle signed by the key it trusts loads, and the refusal is over.
    const next = await compiled('PUT');
    await publish(next, await writeBundleArchive(next, { signer }));
    await until(() => client.digest() === next.digest, 'the next signed bundle');
    assert.equal(refusalOf(client), undefined);
    assert.equal(client.readiness(), undefined);
  } finally {
    await client.stop();
  }
});

test('with a token file: every request carries its current content as a bearer token (re-read: the kubelet rotates it)', async () => {
  const seen: (string | undefined)[] = [];
  const authApp = Fastify({ forceCloseConnections: true });
  authApp.addHook('onRequest', async (req) => void seen.push(req.headers.authorization));
  registerBundleRoutes(authApp, store);
  await authApp.listen({ port: 0, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bundle-token-'));
  writeFileSync(join(dir, 'token'), 'first\n');
  const v = await compiled('GET');
  await publish(v);
  const client = new BundleClient({ controllerUrl: `http://127.0.0.1:${(authApp.server.address() as any).port}`, bundle: 'ns/b', engine: new OpaWasmEngine(), logger, waitMs: 200, initialBackoffMs: 20, tokenFile: join(dir, 'token') });
  client.start();
  try {
    await until(() => seen.includes('Bearer first'), 'the first token sent');
    writeFileSync(join(dir, 'token'), 'second\n');
    await until(() => seen.includes('Bearer second'), 'the rotated token sent');
  } finally {
    await client.stop();
    await authApp.close();
  }
});
