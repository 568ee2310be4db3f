/**
 * Two `portcullis controller` processes against a real kube-apiserver, sharing
 * one real Lease. kube-apiserver is stopped mid-run and started again (etcd
 * keeps the data): meanwhile both controllers keep serving the last bundles to
 * sidecars; afterwards their watches recover on their own, a change applied
 * with kubectl reaches the served bundle, and the Lease still has one holder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { controlPlaneForProcesses, kubectlApply } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import type { ControlPlane } from '../support/control-plane.ts';
import { KubeRest } from '../support/kube-rest.ts';
import { policyBundle } from '../support/policy-bundles.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portcullis.js');

interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  api: number;
}

let cp: ControlPlane;
let kube: KubeRest;
const procs: Proc[] = [];

async function startController(identity: string, kubeconfig: string, webhookPort: number): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, 'controller', '--kubeconfig', kubeconfig, '--port', '0', '--webhook-port', String(webhookPort)], {
    env: {
      ...process.env,
      PORTCULLIS_CONTROLLER_HOST: '127.0.0.1',
      PORTCULLIS_WEBHOOK_HOST: '127.0.0.1',
      PORTCULLIS_WEBHOOK_IP_SANS: '127.0.0.1',
      PORTCULLIS_POD_NAME: identity,
      PORTCULLIS_COMPILER: 'portcullis',
      PORTCULLIS_BUNDLE_AUTH: 'none',
      PORTCULLIS_LEASE_DURATION_SECONDS: '4',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const line = await until(() => out.split('\n').find((l) => /controller started/.test(l)), `${identity} to start: ${out}`, 60_000);
  const proc = { child, out: () => out, exited, api: JSON.parse(line).api as number };
  procs.push(proc);
  return proc;
}

const served = async (p: Proc): Promise<string | undefined> => {
  const r = await fetch(`http://127.0.0.1:${p.api}/v1/bundles/agents/research`);
  await r.arrayBuffer();
  return r.status === 200 ? (r.headers.get('etag') ?? undefined) : undefined;
};

const status = async () => (await kube.get('portcullis.dev/v1alpha1', 'PolicyBundle', 'agents', 'research'))?.status;

before(async () => {
  let webhookPort: number;
  let kubeconfig: string;
  ({ cp, kube, webhookPort, kubeconfig } = await controlPlaneForProcesses());
  await startController('controller-a', kubeconfig, webhookPort);
  await startController('controller-b', kubeconfig, 0);
});

after(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
  await cp?.close();
});

test('both processes serve the applied bundle; one of them holds the Lease', async () => {
  await kubectlApply(cp, policyBundle('research', 'agents'));
  const digest = await until(async () => (await status())?.servingDigest, 'status');
  for (const p of procs) await until(async () => (await served(p)) === `"${digest}"`, 'the bundle served by each process');
  const lease = await kube.get('coordination.k8s.io/v1', 'Lease', 'portcullis-system', 'portcullis-controller');
  assert.ok(['controller-a', 'controller-b'].includes(lease.spec.holderIdentity), lease.spec.holderIdentity);
});

test('kube-apiserver down: both keep serving the last bundle; back up: watches recover and a change is served', async () => {
  const before = (await status()).servingDigest;
  const logged = procs.map((p) => p.out().length);
  await cp.stopApiServer();
  // Each controller has seen the outage: a watch or a Lease write failed (what it logs after the stop).
  await until(() => procs.every((p, i) => /watch of .* failed|lease update failed/.test(p.out().slice(logged[i]))), 'both controllers to notice the outage', 30_000);
  for (const p of procs) assert.equal(await served(p), `"${before}"`, 'served from memory during the outage');
  await cp.startApiServer();
  await kubectlApply(cp, policyBundle('research', 'agents', { allowMethod: 'POST' }));
  const after = await until(async () => {
    const s = await status();
    return s?.observedGeneration === 2 && s.servingDigest;
  }, 'generation 2 after the restart', 60_000);
  assert.notEqual(after, before);
  for (const p of procs) await until(async () => (await served(p)) === `"${after}"`, 'the new bundle served by each process', 60_000);
  const lease = await until(() => kube.get('coordination.k8s.io/v1', 'Lease', 'portcullis-system', 'portcullis-controller'), 'the Lease');
  assert.ok(['controller-a', 'controller-b'].includes(lease.spec.holderIdentity), lease.spec.holderIdentity);
  for (const p of procs) assert.equal(p.child.exitCode, null, `still running: ${p.out().slice(-2000)}`);
});
