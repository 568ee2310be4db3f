/**
 * The mutating webhook as a real kube-apiserver calls it (AdmissionReview v1
 * over TLS, trusting the caBundle the controller patched, selected by the
 * configuration's namespace and object selectors): a pod from a real
 * Deployment manifest, created with kubectl, is stored with the sidecar;
 * opt-outs and system namespaces are left alone; a bad annotation is refused
 * with a message. And scale-out: two replicas serve the same bundles; the
 * Lease moves to the survivor when the leader stops, and the survivor writes
 * status. With the controller down, failurePolicy is the real server's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, manifest, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { policyBundle } from '../support/policy-bundles.ts';

let h: Harness;

let pods = 0;

/** The pod a Deployment's template makes, under a fresh name (the audit log finds a creation by name). */
function podFrom(path: string, namespace: string): any {
  const deploy = manifest(path).find((d) => d.kind === 'Deployment');
  const t = deploy.spec.template;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${deploy.metadata.name}-${++pods}`, namespace, ...t.metadata }, spec: t.spec };
}

/** The ServiceAccount admission plugin refuses pods whose account does not exist; there is no controller-manager to make `default`. */
async function namespaceWithAccounts(name: string, labels?: Record<string, string>): Promise<void> {
  await h.namespace(name, labels);
  for (const sa of ['default', 'research-agent', 'agent']) {
    await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: name } });
  }
}

/** The mutating webhooks the API server called for the creation of one pod, from its audit log. */
function webhooksCalledFor(namespace: string, name: string): string[] {
  const event = h.cp.auditEvents().find((e) => e.stage === 'ResponseComplete' && e.verb === 'create' && e.objectRef?.resource === 'pods' && e.objectRef?.namespace === namespace && e.objectRef?.name === name);
  assert.ok(event, `no audit event for the creation of pod ${namespace}/${name}`);
  return Object.entries(event.annotations ?? {})
    .filter(([k]) => k.startsWith('mutation.webhook.admission.k8s.io/'))
    .map(([, v]) => JSON.parse(v as string).webhook);
}

before(async () => {
  // Bundles fetched here without a sidecar's token (controller-bundle-trust.test.ts covers tokens).
  h = await startHarness({ replicas: 2, configOverrides: { bundleAuth: 'none' } });
  await namespaceWithAccounts('agents', { 'portcullis.dev/injection': 'enabled' });
  await namespaceWithAccounts('plain');
  for (const sa of ['default', 'research-agent', 'agent']) await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'kube-system' } });
});

after(() => h.close());

test('a pod from a real Deployment manifest is injected through the API server', async () => {
  const stored = await h.apply(podFrom('test/controller/testdata/inject/basic.yaml', 'agents'));
  // The capture rules are installed first; the native sidecar starts after them and checks them.
  assert.deepEqual(stored.spec.initContainers.map((c: any) => c.name), ['portcullis-capture-init', 'portcullis-sidecar']);
  assert.deepEqual(stored.spec.initContainers[0].securityContext.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
  assert.equal(stored.spec.initContainers[1].restartPolicy, 'Always');
  const env = Object.fromEntries(stored.spec.initContainers[1].env.map((e: any) => [e.name, e.value]));
  assert.equal(env.PORTCULLIS_BUNDLE, 'agents/research-policy');
  // TLS to the controller's Service by default, with its CA; bundles verified against its key.
  assert.equal(env.PORTCULLIS_CONTROLLER_URL, 'https://portcullis-controller.portcullis-system.svc:443');
  assert.equal(env.PORTCULLIS_CONTROLLER_CA, h.controllers[0]!.tls.caPem);
  assert.equal(env.PORTCULLIS_BUNDLE_PUBLIC_KEY, h.controllers[0]!.bundlePublicKeys);
  assert.ok(stored.spec.containers[0].env.some((e: any) => e.name === 'HTTPS_PROXY' && e.value === 'http://127.0.0.1:7070'));
  // No portcullis.dev/mode on this pod, and the enforced namespace allows no other: pinned to enforce.
  assert.equal(env.PORTCULLIS_MODE, 'enforce');
  assert.equal(stored.metadata.annotations['portcullis.dev/injected'], 'agents/research-policy;enforce');
  assert.deepEqual(webhooksCalledFor('agents', stored.metadata.name), ['inject.portcullis.dev']);
  // The API server's own admission plugins ran too: the agent container got the service account volume.
  assert.ok(stored.spec.containers[0].volumeMounts.some((m: any) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount'));
});

test('the namespace label alone injects; a pod cannot opt out of it, but can elsewhere', async () => {
  const labelled = await h.apply(podFrom('test/controller/testdata/inject/namespace-label.yaml', 'agents'));
  assert.equal(labelled.spec.initContainers[1].name, 'portcullis-sidecar');
  await assert.rejects(h.apply(podFrom('test/controller/testdata/inject/opt-out.yaml', 'agents')), (e: any) => /pods cannot opt out of an enforced namespace/.test(e.message));
  const out = await h.apply(podFrom('test/controller/testdata/inject/opt-out.yaml', 'plain'));
  assert.equal(out.spec.initContainers, undefined);
});

test('outside labelled namespaces: the pod annotation or the pod label asks for injection', async () => {
  const byAnnotation = await h.apply(podFrom('test/controller/testdata/inject/basic.yaml', 'plain'));
  assert.equal(byAnnotation.spec.initContainers[1].name, 'portcullis-sidecar');
  const labelled = podFrom('test/controller/testdata/inject/namespace-label.yaml', 'plain');
  labelled.metadata.labels['portcullis.dev/inject'] = 'true';
  const byLabel = await h.apply(labelled);
  assert.equal(byLabel.spec.initContainers[1].name, 'portcullis-sidecar');
  const unasked = await h.apply(podFrom('test/controller/testdata/inject/namespace-label.yaml', 'plain'));
  assert.equal(unasked.spec.initContainers, undefined);
});

test('system namespaces are never sent to the webhook', async () => {
  const pod = podFrom('test/controller/testdata/inject/basic.yaml', 'kube-system');
  const stored = await h.apply(pod);
  assert.equal(stored.spec.initContainers, undefined);
  assert.deepEqual(webhooksCalledFor('kube-system', stored.metadata.name), []);
});

test('a bad annotation is refused with a message naming it', async () => {
  const pod = podFrom('test/controller/testdata/inject/basic.yaml', 'agents');
  pod.metadata.annotations['portcullis.dev/mode'] = 'audit';
  await assert.rejects(h.apply(pod), (e: any) => /denied the request: annotation portcullis\.dev\/mode="audit" is invalid/.test(e.message));
});

test('both replicas serve the webhooks with one certificate, kept in a Secret, trusted through the patched caBundle', async () => {
  const [a, b] = h.controllers;
  assert.equal(a!.tls.caPem, b!.tls.caPem);
  assert.equal(a!.tls.certPem, b!.tls.certPem);
  const secret = await h.kube.get('v1', 'Secret', 'portcullis-system', 'portcullis-webhook-tls');
  assert.equal(Buffer.from(secret.data['ca.crt'], 'base64').toString(), a!.tls.caPem);
  const m = await h.kube.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, 'portcullis-sidecar-injector');
  const ca = Buffer.from(m.webhooks[0].clientConfig.caBundle, 'base64').toString();
  const { request } = await import('node:https');
  const status = await new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port: b!.webhookPort, path: '/healthz', ca, servername: 'portcullis-controller.portcullis-system.svc' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(status, 200);
});

test('two replicas serve the same bundle; when the leader stops, the other takes the Lease and writes status', async () => {
  const shared = async () => (await h.kube.get('portcullis.dev/v1alpha1', 'PolicyBundle', 'agents', 'shared'))?.status;
  await h.apply(policyBundle('shared', 'agents'));
  const status = await until(async () => (await shared())?.servingDigest && shared(), 'status');
  const etags = await Promise.all(
    h.controllers.map(async (c) => {
      const res = await until(async () => {
        const r = await fetch(`${c.apiUrl}/v1/bundles/agents/shared`);
        return r.status === 200 ? r : undefined;
      }, 'a served bundle');
      return res.headers.get('etag');
    }),
  );
  assert.deepEqual(etags, [`"${status.digest}"`, `"${status.digest}"`]);
  const leader = h.controllers.find((c) => c.elector.isLeader())!;
  const follower = h.controllers.find((c) => c !== leader)!;
  assert.equal(h.controllers.filter((c) => c.elector.isLeader()).length, 1);
  await leader.stop();
  h.controllers.splice(h.controllers.indexOf(leader), 1);
  await until(() => follower.elector.isLeader(), 'the follower to lead', 30_000);
  const lease = await h.kube.get('coordination.k8s.io/v1', 'Lease', 'portcullis-system', 'portcullis-controller');
  assert.equal(lease.spec.holderIdentity, follower.identity);
  assert.ok(lease.spec.leaseTransitions >= 1);
  await h.apply(policyBundle('shared', 'agents', { allowMethod: 'HEAD' }));
  await until(async () => (await shared())?.observedGeneration === 2, 'status from the new leader');
});

// Last in this file: it stops the remaining controller.
test('controller down: pods opted in by namespace label, pod label or pod annotation are refused; other pods are not held up', async () => {
  for (const c of h.controllers) await c.stop();
  const inLabelled = podFrom('test/controller/testdata/inject/namespace-label.yaml', 'agents');
  await assert.rejects(h.apply(inLabelled), (e: any) => /failed calling webhook "inject\.portcullis\.dev"/.test(e.message));
  const labelled = podFrom('test/controller/testdata/inject/namespace-label.yaml', 'plain');
  labelled.metadata.labels['portcullis.dev/inject'] = 'true';
  await assert.rejects(h.apply(labelled), (e: any) => /failed calling webhook "inject-labelled-pods\.portcullis\.dev"/.test(e.message));
  // The annotation opt-in is selected by matchConditions (CEL on the pod): fail-closed like the labels.
  await assert.rejects(h.apply(podFrom('test/controller/testdata/inject/basic.yaml', 'plain')), (e: any) => /failed calling webhook "inject-annotated-pods\.portcullis\.dev"/.test(e.message));
  // A pod that asked for nothing is never sent, so it does not wait on the controller.
  const unasked = await h.apply(podFrom('test/controller/testdata/inject/namespace-label.yaml', 'plain'));
  assert.equal(unasked.spec.initContainers, undefined);
  assert.deepEqual(webhooksCalledFor('plain', unasked.metadata.name), []);
  h.controllers.splice(0);
});
