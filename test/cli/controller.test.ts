/**
 * `portcullis controller` as a process against a real kube-apiserver, with
 * the kubeconfig of its own ServiceAccount (the chart's RBAC, no webhook
 * configurations applied): starts, takes the Lease, makes its webhook
 * certificate Secret, serves /readyz and bundles, and on SIGTERM releases the
 * Lease and exits 0.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { controllerKubeconfig, installBase, kubectlApply, SYSTEM_NAMESPACE } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { KubeRest } from '../support/kube-rest.ts';
import { policyBundle } from '../support/policy-bundles.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'portcullis.js');
let cp: ControlPlane;
let kube: KubeRest;
let child: ChildProcess | undefined;

before(async () => {
  cp = await startControlPlane();
  kube = new KubeRest(cp);
  await installBase(cp);
  await kubectlApply(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'agents' } });
});

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  await cp?.close();
});

test('starts, serves /readyz and bundles, holds the Lease, and on SIGTERM releases it and exits 0', async () => {
  const kubeconfig = await controllerKubeconfig(cp);
  child = spawn(process.execPath, [BIN, 'controller', '--kubeconfig', kubeconfig, '--port', '0', '--webhook-port', '0'], {
    env: { ...process.env, PORTCULLIS_CONTROLLER_HOST: '127.0.0.1', PORTCULLIS_WEBHOOK_HOST: '127.0.0.1', PORTCULLIS_POD_NAME: 'cli-test', PORTCULLIS_COMPILER: 'portcullis', PORTCULLIS_BUNDLE_AUTH: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));
  const line = await until(() => out.split('\n').find((l) => l.includes('controller started')), `the start line: ${out}`, 60_000);
  const port = JSON.parse(line).api as number;

  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${port}/v1/bundles/agents/none`)).status, 404);
  // The missing webhook configurations are named, not fatal.
  const missing = out.split('\n').find((l) => l.includes('webhook configurations not found'));
  assert.ok(missing, out);
  assert.deepEqual([...JSON.parse(missing).missing].sort(), ['mutatingwebhookconfiguration/portcullis-sidecar-injector', 'validatingwebhookconfiguration/portcullis-policybundle-validator']);

  const lease = () => kube.get('coordination.k8s.io/v1', 'Lease', SYSTEM_NAMESPACE, 'portcullis-controller');
  await until(async () => (await lease())?.spec.holderIdentity === 'cli-test', 'the Lease held by the process');
  const secret = await until(() => kube.get('v1', 'Secret', SYSTEM_NAMESPACE, 'portcullis-webhook-tls'), 'the webhook certificate Secret');
  assert.ok(secret.data['tls.crt'] && secret.data['tls.key'], Object.keys(secret.data).join(', '));

  await kubectlApply(cp, policyBundle('research', 'agents'));
  await until(async () => (await fetch(`http://127.0.0.1:${port}/v1/bundles/agents/research`)).status === 200, 'the applied bundle served');
  const status = await until(async () => (await kube.get('portcullis.dev/v1alpha1', 'PolicyBundle', 'agents', 'research')).status?.servingDigest, 'status written by the leader');
  assert.match(status, /^sha256:[0-9a-f]{64}$/);

  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
  assert.equal((await lease()).spec.holderIdentity, '', 'released on the way out');
});
