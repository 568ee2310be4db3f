/**
 * The mutating webhook as the API server calls it (AdmissionReview v1 over
 * TLS, trusting the caBundle the controller patched): a pod from a real
 * Deployment manifest comes back with the sidecar; opt-outs and system
 * namespaces are left alone; a bad annotation is refused with a message.
 * And scale-out: two replicas serve the same bundles; the Lease moves to the
 * survivor when the leader stops, and the survivor writes status.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, manifest, until, type Harness } from '../support/controller-harness.ts';
import { policyBundle } from '../support/policy-bundles.ts';

let h: Harness;

function podFrom(path: string, namespace: string): any {
  const deploy = manifest(path).find((d) => d.kind === 'Deployment');
  const t = deploy.spec.template;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: `${deploy.metadata.name}-`, namespace, ...t.metadata }, spec: t.spec };
}

before(async () => {
  h = await startHarness({ replicas: 2 });
  await h.fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'agents', labels: { 'portcullis.dev/injection': 'enabled' } } });
  await h.fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
});

after(() => h.close());

test('a pod from a real Deployment manifest is injected through the API server', async () => {
  const stored = await h.fake.apply(podFrom('test/controller/testdata/inject/basic.yaml', 'agents'));
  assert.equal(stored.spec.initContainers[0].name, 'portcullis-sidecar');
  assert.equal(stored.spec.initContainers[0].restartPolicy, 'Always');
  const env = Object.fromEntries(stored.spec.initContainers[0].env.map((e: any) => [e.name, e.value]));
  assert.equal(env.PORTCULLIS_BUNDLE, 'agents/research-policy');
  assert.equal(env.PORTCULLIS_CONTROLLER_URL, 'http://portcullis-controller.portcullis-system.svc:8080');
  assert.ok(stored.spec.containers[0].env.some((e: any) => e.name === 'HTTPS_PROXY' && e.value === 'http://127.0.0.1:7070'));
  // No portcullis.dev/mode on this pod: the sidecar runs its bundle's spec.mode.
  assert.equal(env.PORTCULLIS_MODE, undefined);
  assert.equal(stored.metadata.annotations['portcullis.dev/injected'], 'agents/research-policy;bundle');
  assert.ok(h.fake.admission.calls.some((c) => c.webhook === 'inject.portcullis.dev' && c.allowed));
});

test('the namespace label alone injects; a pod annotation opts out', async () => {
  const labelled = await h.fake.apply(podFrom('test/controller/testdata/inject/namespace-label.yaml', 'agents'));
  assert.equal(labelled.spec.initContainers[0].name, 'portcullis-sidecar');
  const out = await h.fake.apply(podFrom('test/controller/testdata/inject/opt-out.yaml', 'agents'));
  assert.equal(out.spec.initContainers, undefined);
});

test('outside labelled namespaces: the pod annotation or the pod label asks for injection', async () => {
  await h.fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } });
  const byAnnotation = await h.fake.apply(podFrom('test/controller/testdata/inject/basic.yaml', 'plain'));
  assert.equal(byAnnotation.spec.initContainers[0].name, 'portcullis-sidecar');
  const labelled = podFrom('test/controller/testdata/inject/namespace-label.yaml', 'plain');
  labelled.metadata.labels['portcullis.dev/inject'] = 'true';
  const byLabel = await h.fake.apply(labelled);
  assert.equal(byLabel.spec.initContainers[0].name, 'portcullis-sidecar');
  const unasked = await h.fake.apply(podFrom('test/controller/testdata/inject/namespace-label.yaml', 'plain'));
  assert.equal(unasked.spec.initContainers, undefined);
});

test('system namespaces are never sent to the webhook', async () => {
  const before = h.fake.admission.calls.length;
  const pod = podFrom('test/controller/testdata/inject/basic.yaml', 'kube-system');
  const stored = await h.fake.apply(pod);
  assert.equal(stored.spec.initContainers, undefined);
  assert.equal(h.fake.admission.calls.length, before);
});

test('a bad annotation is refused with a message naming it', async () => {
  const pod = podFrom('test/controller/testdata/inject/basic.yaml', 'agents');
  pod.metadata.annotations['portcullis.dev/mode'] = 'audit';
  await assert.rejects(h.fake.apply(pod), (e: any) => /denied the request: annotation portcullis\.dev\/mode="audit" is invalid/.test(e.message));
});

test('both replicas serve the webhooks with one certificate, kept in a Secret, trusted through the patched caBundle', async () => {
  const [a, b] = h.controllers;
  assert.equal(a!.tls.caPem, b!.tls.caPem);
  assert.equal(a!.tls.certPem, b!.tls.certPem);
  const secret = h.fake.get('v1', 'Secret', 'portcullis-system', 'portcullis-webhook-tls')!;
  assert.equal(Buffer.from(secret.data['ca.crt'], 'base64').toString(), a!.tls.caPem);
  const m = h.fake.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, 'portcullis-sidecar-injector')!;
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
  await h.fake.apply(policyBundle('shared', 'agents'));
  const status = await until(() => h.fake.get('portcullis.dev/v1alpha1', 'PolicyBundle', 'agents', 'shared')?.status, 'status');
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
  const lease = h.fake.get('coordination.k8s.io/v1', 'Lease', 'portcullis-system', 'portcullis-controller')!;
  assert.equal(lease.spec.holderIdentity, follower.identity);
  assert.ok(lease.spec.leaseTransitions >= 1);
  await h.fake.apply(policyBundle('shared', 'agents', { allowMethod: 'HEAD' }));
  await until(() => h.fake.get('portcullis.dev/v1alpha1', 'PolicyBundle', 'agents', 'shared')?.status?.observedGeneration === 2, 'status from the new leader');
});

// Last in this file: it stops the remaining controller.
test('controller down: pods opted in by namespace or pod label are refused; annotation-only pods start without the sidecar', async () => {
  for (const c of h.controllers) await c.stop();
  const inLabelled = podFrom('test/controller/testdata/inject/namespace-label.yaml', 'agents');
  await assert.rejects(h.fake.apply(inLabelled), (e: any) => /failed calling webhook "inject\.portcullis\.dev"/.test(e.message));
  const labelled = podFrom('test/controller/testdata/inject/namespace-label.yaml', 'plain');
  labelled.metadata.labels['portcullis.dev/inject'] = 'true';
  await assert.rejects(h.fake.apply(labelled), (e: any) => /failed calling webhook "inject-labelled-pods\.portcullis\.dev"/.test(e.message));
  const annotated = await h.fake.apply(podFrom('test/controller/testdata/inject/basic.yaml', 'plain'));
  assert.equal(annotated.spec.initContainers, undefined, 'fail-open: started without the gate');
  h.controllers.splice(0);
});
