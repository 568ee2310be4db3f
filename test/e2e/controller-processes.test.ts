/**
 * The shipped commands as separate processes: `portcullis controller`
 * against a real kube-apiserver (a kubeconfig with its ServiceAccount's
 * token), `portcullis sidecar` following it. Applying a PolicyBundle (through the controller's validating
 * webhook) makes the sidecar ready on its digest and report it as a metric; a
 * change reaches it; with the controller gone it keeps serving the last good
 * bundle.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { controlPlaneForProcesses, kubectlApply, until } from '../support/controller-harness.ts';
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
  });
  const started = await until(() => logLine(controller, /controller started/), `the controller to start: ${controller.out()}`, 60_000);
  apiPort = started.api;
  sidecar = run(['sidecar'], {
    PORTCULLIS_CONTROLLER_URL: `http://127.0.0.1:${apiPort}`,
    PORTCULLIS_BUNDLE: 'agents/research',
    PORTCULLIS_PORT: '0',
    PORTCULLIS_ADMIN_PORT: '0',
    PORTCULLIS_POD_NAMESPACE: 'agents',
    PORTCULLIS_POD_NAME: 'agent-0',
    PORTCULLIS_LEDGER: '',
  });
  const gating = await until(() => logLine(sidecar, /sidecar gating on/), `the sidecar to start: ${sidecar.out()}`, 60_000);
  adminUrl = gating.admin;
});

after(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await cp?.close();
});

async function ready(): Promise<{ status: number; digest?: string }> {
  const r = await fetch(`${adminUrl}/readyz`);
  const body = (await r.json()) as { digest?: string };
  return { status: r.status, digest: body.digest };
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
