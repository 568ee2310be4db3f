/**
 * `portcullis sidecar`, the in-cluster role, as a process: configured only by
 * PORTCULLIS_* variables, it fails closed until the controller serves its
 * bundle, then gates calls with it; and, given no key, it loads unsigned
 * bundles only when told so explicitly.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { BundleStore } from '../../src/controller/bundles/bundle-store.ts';
import { registerBundleRoutes } from '../../src/controller/server/bundle-routes.ts';
import { writeBundleArchive } from '../../src/policy/bundle-archive.ts';
import { generateKeyPairSync } from 'node:crypto';
import { createBundleSigner } from '../../src/policy/bundle-signing.ts';
import { startPaymentsApi, type DemoApi } from '../../src/demo/http-apis.ts';
import { shippedBundle, withTools } from './shipped-bundle.ts';
import { until } from '../support/until.ts';

// The controller's signing key: the sidecar is given its public half, as the injector does.
const signingKeys = generateKeyPairSync('ed25519');
const signer = createBundleSigner(signingKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
let controller: FastifyInstance | undefined;
let payments: DemoApi | undefined;
let child: ChildProcess | undefined;

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await controller?.close();
  await payments?.close();
});

/** `portcullis sidecar` as a process, following `controllerUrl` for `agents/policies`; resolves with its addresses and its output so far. */
async function startSidecarProcess(controllerUrl: string, extra: Record<string, string>): Promise<{ proxy: string; admin: string; out: () => string }> {
  let out = '';
  child = spawn(process.execPath, [join(root, 'bin', 'portcullis.js'), 'sidecar'], {
    cwd: root,
    env: {
      ...process.env,
      OTEL_SDK_DISABLED: 'true',
      PORTCULLIS_CONTROLLER_URL: controllerUrl,
      PORTCULLIS_BUNDLE: 'agents/policies',
      PORTCULLIS_PORT: '0',
      PORTCULLIS_ADMIN_PORT: '0',
      PORTCULLIS_POD_NAMESPACE: 'agents',
      PORTCULLIS_POD_NAME: 'agent-0',
      PORTCULLIS_POD_LABELS: '{"app":"agent"}',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const addresses = await until(() => {
    const line = out.split('\n').find((l) => l.includes('"proxy"'));
    return line ? (JSON.parse(line) as { proxy: string; admin: string }) : child!.exitCode !== null ? Promise.reject(new Error(out)) : undefined;
  }, 'the sidecar to listen');
  return { ...addresses, out: () => out };
}

test('the sidecar fails closed until the controller serves its bundle, then enforces it', async () => {
  payments = await startPaymentsApi();
  const store = new BundleStore();
  controller = Fastify({ forceCloseConnections: true });
  registerBundleRoutes(controller, store);
  await controller.listen({ port: 0, host: '127.0.0.1' });
  const controllerUrl = `http://127.0.0.1:${(controller.server.address() as { port: number }).port}`;

  const started = await startSidecarProcess(controllerUrl, { PORTCULLIS_BUNDLE_PUBLIC_KEY: signingKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
  assert.equal((await fetch(`${started.admin}/readyz`)).status, 503);
  const early = await fetch(`${started.proxy}/tools/payments/v1/charges`);
  assert.equal(early.status, 503);
  assert.equal(((await early.json()) as any).error.code, 'PORTCULLIS_POLICY_NO_BUNDLE');

  const bundle = withTools(await shippedBundle(), { payments: payments.url });
  store.publish({ key: 'agents/policies', digest: bundle.digest, archive: await writeBundleArchive(bundle, { signer }), bundle, publishedAt: Date.now() });
  await until(async () => ((await fetch(`${started.admin}/readyz`)).status === 200 ? true : undefined), 'the bundle to load');

  const read = await fetch(`${started.proxy}/tools/payments/v1/charges`);
  assert.equal(read.status, 200);
  const refused = await fetch(`${started.proxy}/tools/payments/v1/refunds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount":1}' });
  assert.equal(refused.status, 403);
  assert.deepEqual(payments.log.map((a) => `${a.method} ${a.url}`), ['GET /v1/charges']);

  child!.kill('SIGTERM');
  assert.equal(await new Promise((r) => child!.once('exit', r)), 0);
});

test('with PORTCULLIS_ACCEPT_UNSIGNED_BUNDLES=true and no key, the sidecar loads an unsigned bundle and says at start that it does', async () => {
  const store = new BundleStore();
  const unsignedController = Fastify({ forceCloseConnections: true });
  registerBundleRoutes(unsignedController, store);
  await unsignedController.listen({ port: 0, host: '127.0.0.1' });
  try {
    const started = await startSidecarProcess(`http://127.0.0.1:${(unsignedController.server.address() as { port: number }).port}`, { PORTCULLIS_ACCEPT_UNSIGNED_BUNDLES: 'true' });
    assert.match(started.out(), /bundles are loaded without a signature check/);
    const bundle = withTools(await shippedBundle(), { payments: payments!.url });
    store.publish({ key: 'agents/policies', digest: bundle.digest, archive: await writeBundleArchive(bundle), bundle, publishedAt: Date.now() });
    await until(async () => ((await fetch(`${started.admin}/readyz`)).status === 200 ? true : undefined), 'the unsigned bundle to load');
    assert.equal((await fetch(`${started.proxy}/tools/payments/v1/charges`)).status, 200);
    child!.kill('SIGTERM');
    assert.equal(await new Promise((r) => child!.once('exit', r)), 0);
  } finally {
    await unsignedController.close();
  }
});
