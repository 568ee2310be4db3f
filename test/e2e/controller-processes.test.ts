/**
 * The shipped commands as separate processes: `portcullis controller`
 * against a real kube-apiserver (a kubeconfig with its ServiceAccount's
 * token), `portcullis sidecar` following it. Applying a PolicyBundle (through the controller's validating
 * webhook) makes the sidecar ready on its digest and report it as a metric; a
 * change reaches it; with the controller gone it keeps serving the last good
 * bundle, and a sidecar restarted while the controller is still gone enforces
 * the bundle kept on its volume (and says so) instead of denying everything.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { controlPlaneForProcesses, kubectlApply } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import type { ControlPlane } from '../support/control-plane.ts';
import { KubeRest } from '../support/kube-rest.ts';
import { policyBundle } from '../support/policy-bundles.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portcullis.js');
let cp: ControlPlane;
let kube: KubeRest;
const children: { child: ChildProcess; out: () => string; exited: Promise<number | null> }[] = [];

function run(args: string[], env: Record<string, string>): (typeof children)[number] {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const entry = { child, out: () => out, exited: new Promise<number | null>((r) => child.on('exit', (c) => r(c))) };
  children.push(entry);
  return entry;
}

function logLine(p: (typeof children)[number], msg: RegExp): any {
  const line = p.out().split('\n').find((l) => msg.test(l));
  return line ? JSON.parse(line) : undefined;
}

let controller: (typeof children)[number];
let sidecar: (typeof children)[number];
let apiPort = 0;
let adminUrl = '';
/** The sidecar's volume: where it keeps its last bundle. */
const volume = mkdtempSync(join(tmpdir(), 'portcullis-sidecar-volume-'));
let sidecarEnv: Record<string, string>;

const status = async () => (await kube.get('portcullis.dev/v1alpha1', 'PolicyBundle', 'agents', 'research'))?.status;

before(async () => {
  let webhookPort: number;
  let kubeconfig: string;
  ({ cp, kube, webhookPort, kubeconfig } = await controlPlaneForProcesses());
  controller = run(['controller', '--kubeconfig', kubeconfig, '--port', '0', '--webhook-port', String(webhookPort)], {
    PORTCULLIS_CONTROLLER_HOST: '127.0.0.1',
    PORTCULLIS_WEBHOOK_HOST: '127.0.0.1',
    PORTCULLIS_WEBHOOK_IP_SANS: '127.0.0.1',
    PORTCULLIS_POD_NAME: 'controller-proc',
    PORTCULLIS_COMPILER: 'portcullis',
    // The sidecar here is no pod and has no projected token: bundles without one (signed all the same).
    PORTCULLIS_BUNDLE_AUTH: 'none',
  });
  const started = await until(() => logLine(controller, /controller started/), `the controller to start: ${controller.out()}`, 60_000);
  apiPort = started.api;
  sidecarEnv = {
    PORTCULLIS_CONTROLLER_URL: `http://127.0.0.1:${apiPort}`,
    PORTCULLIS_BUNDLE: 'agents/research',
    PORTCULLIS_PORT: '0',
    PORTCULLIS_ADMIN_PORT: '0',
    PORTCULLIS_POD_NAMESPACE: 'agents',
    PORTCULLIS_POD_NAME: 'agent-0',
    PORTCULLIS_LEDGER: '',
    PORTCULLIS_LAST_BUNDLE_FILE: join(volume, 'last-bundle.tar.gz'),
    // What the injector gives sidecars: the public half of the key the controller made in its Secret.
    PORTCULLIS_BUNDLE_PUBLIC_KEY: Buffer.from((await kube.get('v1', 'Secret', 'portcullis-system', 'portcullis-bundle-signing')).data['ed25519.pub'], 'base64').toString(),
  };
  sidecar = run(['sidecar'], sidecarEnv);
  const gating = await until(() => logLine(sidecar, /sidecar gating on/), `the sidecar to start: ${sidecar.out()}`, 60_000);
  adminUrl = gating.admin;
});

after(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await cp?.close();
});

async function ready(): Promise<{ status: number; digest?: string; enforcingKeptBundle?: string }> {
  const r = await fetch(`${adminUrl}/readyz`);
  const body = (await r.json()) as { digest?: string; enforcingKeptBundle?: string };
  return { status: r.status, digest: body.digest, ...(body.enforcingKeptBundle ? { enforcingKeptBundle: body.enforcingKeptBundle } : {}) };
}

test('the sidecar is not ready before its bundle exists', async () => {
  assert.equal((await ready()).status, 503);
});

test('apply → the sidecar process is ready on the digest in the status, and reports it as a metric', async () => {
  await kubectlApply(cp, policyBundle('research', 'agents'));
  const digest = await until(async () => (await status())?.servingDigest, 'status', 60_000);
  await until(async () => (await ready()).digest === digest, 'sidecar ready on the digest', 60_000);
  const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
  assert.match(metrics, new RegExp(`portcullis_bundle_info\\{[^}]*digest="${digest}"`));
});

test('a change reaches the sidecar process', async () => {
  await kubectlApply(cp, policyBundle('research', 'agents', { allowMethod: 'POST' }));
  const digest = await until(async () => {
    const s = await status();
    return s?.observedGeneration === 2 && s.servingDigest;
  }, 'generation 2', 60_000);
  await until(async () => (await ready()).digest === digest, 'sidecar on generation 2', 60_000);
});

test('with the controller gone the sidecar keeps its bundle and says so once', async () => {
  const digest = (await ready()).digest;
  controller.child.kill('SIGTERM');
  assert.equal(await controller.exited, 0, controller.out());
  await until(() => /controller unreachable/.test(sidecar.out()), 'the unreachable line', 60_000);
  const r = await ready();
  assert.equal(r.status, 200);
  assert.equal(r.digest, digest);
  assert.equal(sidecar.out().split('\n').filter((l) => /controller unreachable/.test(l)).length, 1);
});

// After the controller stopped (previous test).
test('a sidecar restarted while the controller is gone enforces the bundle kept on its volume, and says so', async () => {
  const digest = (await ready()).digest;
  sidecar.child.kill('SIGTERM');
  assert.equal(await sidecar.exited, 0, sidecar.out());
  const again = run(['sidecar'], sidecarEnv);
  const gating = await until(() => logLine(again, /sidecar gating on/), `the restarted sidecar: ${again.out()}`, 60_000);
  const kept = await until(() => logLine(again, /enforcing the bundle kept from before the restart/), `the kept-bundle line: ${again.out()}`, 60_000);
  assert.equal(kept.digest, digest);
  adminUrl = gating.admin;
  const r = await ready();
  assert.equal(r.status, 200);
  assert.equal(r.digest, digest);
  assert.equal(r.enforcingKeptBundle, digest, '/readyz says the kept bundle is enforced');
  // Decided by the kept policy (a deny with its reason), not refused for want of one.
  const proxy = new URL(gating.proxy);
  const denied = await new Promise<{ status: number; body: any }>((resolve, reject) => {
    // Absolute-form, as an HTTP client using HTTP_PROXY sends it.
    request({ host: proxy.hostname, port: proxy.port, method: 'DELETE', path: 'http://example.test/anything' }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    })
      .on('error', reject)
      .end();
  });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error.code, 'PORTCULLIS_DENIED');
});
