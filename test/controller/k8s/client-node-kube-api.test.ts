/**
 * ClientNodeKubeApi, the controller's one seam to Kubernetes, against a real
 * kube-apiserver: informers (list, then watch; through an API server outage),
 * the status subresource, error codes, Leases, Events, ConfigMaps, Secrets,
 * webhook caBundles, TokenReview and SelfSubjectReview. The API server's
 * audit log shows what the client really asked. Watch faults that a real
 * server cannot produce on demand (a cut stream, 410 Gone) are in
 * client-node-kube-api.watch-faults.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.ts';
import { controllerKubeconfig, installBase, kubectlApply, SYSTEM_NAMESPACE } from '../../support/controller-harness.ts';
import { until } from '../../support/until.ts';
import { KubeRest } from '../../support/kube-rest.ts';
import { policyBundle } from '../../support/policy-bundles.ts';
import { ClientNodeKubeApi } from '../../../src/controller/k8s/client-node-kube-api.ts';
import { POLICY_BUNDLES, ACTION_APPROVALS, API_VERSION, type PolicyBundle, type ActionApproval } from '../../../src/controller/resources.ts';
import { kubeStatusCode, type Informer } from '../../../src/controller/k8s/kube-api.ts';

const DIGEST = `sha256:${'d'.repeat(64)}`;
let cp: ControlPlane;
let kube: KubeRest;
/** An admin's client: the seam's behaviour, not the controller's rights. */
let api: ClientNodeKubeApi;
/** The controller's own client (its ServiceAccount token, the chart's RBAC). */
let controller: ClientNodeKubeApi;
let informer: Informer<PolicyBundle>;
const seen: string[] = [];
const removed: string[] = [];
/** A watch of a resource written once, then left alone. */
let quiet: { informer: Informer<ActionApproval>; since: number };

const watchesOf = (plural: string, since = 0): any[] =>
  cp.auditEvents().filter((e) => e.verb === 'watch' && e.stage === 'ResponseStarted' && e.objectRef?.resource === plural && Date.parse(e.requestReceivedTimestamp) >= since);

before(async () => {
  cp = await startControlPlane();
  kube = new KubeRest(cp);
  await installBase(cp);
  for (const name of ['team-a', 'agents', 'sys']) await kubectlApply(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  api = ClientNodeKubeApi.load(cp.kubeconfig, { restartDelayMs: 50 });
  await kubectlApply(cp, {
    apiVersion: API_VERSION,
    kind: 'ActionApproval',
    metadata: { name: 'quiet', namespace: 'agents' },
    spec: { inputHash: 'a'.repeat(64), summary: 's', action: {}, agent: { namespace: 'agents', pod: 'p' }, approvers: [], expiresAt: '2030-01-01T00:00:00Z' },
  });
  quiet = { informer: await api.informer<ActionApproval>(ACTION_APPROVALS, { upsert: () => {}, remove: () => {} }), since: Date.now() };
  controller = ClientNodeKubeApi.load(await controllerKubeconfig(cp));
  await kubectlApply(cp, policyBundle('before-start', 'team-a'));
  informer = await api.informer<PolicyBundle>(POLICY_BUNDLES, {
    upsert: (o) => seen.push(`${o.metadata.name}@${o.metadata.resourceVersion}`),
    remove: (o) => removed.push(o.metadata.name!),
  });
});

after(async () => {
  await informer?.stop();
  await quiet?.informer.stop();
  await cp?.close();
});

test('the first list fills the cache before informer() resolves', () => {
  assert.ok(informer.get('team-a', 'before-start'));
  assert.ok(seen.some((s) => s.startsWith('before-start@')));
});

test('watch events arrive, deletions too; every watch asks for BOOKMARKs and a server-side timeout (audit log)', async () => {
  await kubectlApply(cp, policyBundle('b1', 'team-a'));
  await until(() => informer.get('team-a', 'b1'), 'b1 in the cache');
  await cp.kubectlOk(['delete', 'policybundle', 'b1', '-n', 'team-a']);
  await until(() => removed.includes('b1'), 'b1 removed');
  assert.equal(informer.get('team-a', 'b1'), undefined);
  const watches = watchesOf('policybundles');
  assert.ok(watches.length >= 1);
  for (const w of watches) {
    const q = new URL(w.requestURI, 'https://x').searchParams;
    assert.equal(q.get('allowWatchBookmarks'), 'true', w.requestURI);
    assert.equal(q.get('timeoutSeconds'), '300', w.requestURI);
    assert.ok(Number(q.get('resourceVersion')) > 0, `resumes from the list's resourceVersion: ${w.requestURI}`);
  }
  // (A list answered 429 while the API server's cache of a just-established CRD fills up is retried.)
  const lists = cp.auditEvents().filter((e) => e.verb === 'list' && e.objectRef?.resource === 'policybundles' && e.stage === 'ResponseComplete' && e.responseStatus?.code === 200);
  assert.equal(lists.length, 1, 'listed once: the watch followed from there');
});

test('status subresource: a merge patch of status leaves the spec alone; spec writes bump generation and cannot touch status', async () => {
  await kubectlApply(cp, policyBundle('b2', 'team-a'));
  const patched = await api.patchStatus<PolicyBundle>(POLICY_BUNDLES, 'team-a', 'b2', { digest: DIGEST, observedGeneration: 1 });
  assert.equal(patched.status?.digest, DIGEST);
  assert.equal(patched.metadata.generation, 1, 'a status write is not a new generation');
  const spec = await api.mergePatch<PolicyBundle>(POLICY_BUNDLES, 'team-a', 'b2', { spec: { mode: 'observe' }, status: { digest: `sha256:${'e'.repeat(64)}` } });
  assert.equal(spec.metadata.generation, 2);
  assert.equal(spec.spec.mode, 'observe');
  assert.equal(spec.status?.digest, DIGEST, 'status in a write of the main resource is ignored');
  const removedField = await api.patchStatus<PolicyBundle>(POLICY_BUNDLES, 'team-a', 'b2', { digest: null });
  assert.equal(removedField.status?.digest, undefined, 'null removes a field (merge patch)');
  assert.equal(removedField.status?.observedGeneration, 1);
});

test('errors carry the HTTP status: 404, 409, 422, 403', async () => {
  await assert.rejects(api.patchStatus(POLICY_BUNDLES, 'team-a', 'nope', {}), (e) => kubeStatusCode(e) === 404);
  assert.equal(await api.get(POLICY_BUNDLES, 'team-a', 'nope'), undefined);
  await assert.rejects(api.create(POLICY_BUNDLES, policyBundle('b2', 'team-a')), (e) => kubeStatusCode(e) === 409 && /already exists/.test((e as Error).message));
  const invalid = policyBundle('invalid', 'team-a');
  (invalid.spec as any).mode = 'audit';
  await assert.rejects(api.create(POLICY_BUNDLES, invalid), (e) => kubeStatusCode(e) === 422 && /spec\.mode: Unsupported value: "audit"/.test((e as Error).message));
  await assert.rejects(api.patchStatus(POLICY_BUNDLES, 'team-a', 'b2', { digest: 'sha256:x' }), (e) => kubeStatusCode(e) === 422 && /status\.digest/.test((e as Error).message));
  await assert.rejects(controller.readSecret('team-a', 'anything'), (e) => kubeStatusCode(e) === 403 && /cannot get resource "secrets"/.test((e as Error).message));
  await assert.rejects(controller.mergePatch(POLICY_BUNDLES, 'team-a', 'b2', { spec: { mode: 'enforce' } }), (e) => kubeStatusCode(e) === 403);
});

test('Leases: create, replace, a stale replace conflicts (409), a second create too', async () => {
  const l = await api.createLease({ metadata: { name: 'l', namespace: 'sys' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date().toISOString(), leaseTransitions: 0 } });
  assert.equal(l.spec.leaseTransitions, 0);
  const l2 = await api.replaceLease({ ...l, spec: { ...l.spec, holderIdentity: 'b' } });
  assert.equal(l2.spec.holderIdentity, 'b');
  assert.notEqual(l2.metadata.resourceVersion, l.metadata.resourceVersion);
  await assert.rejects(api.replaceLease({ ...l, spec: { ...l.spec, holderIdentity: 'c' } }), (e) => kubeStatusCode(e) === 409);
  await assert.rejects(api.createLease({ metadata: { name: 'l', namespace: 'sys' }, spec: { holderIdentity: 'd' } }), (e) => kubeStatusCode(e) === 409);
  const read = (await api.readLease('sys', 'l'))!;
  assert.equal(read.spec.holderIdentity, 'b');
  // MicroTime on the wire, an ISO string through the seam; it reads back the same each time.
  assert.equal(read.spec.renewTime, l2.spec.renewTime);
  assert.ok(Math.abs(Date.parse(read.spec.renewTime!) - Date.parse(l.spec.renewTime!)) < 1, 'renewTime keeps its millisecond');
  assert.equal(await api.readLease('sys', 'none'), undefined);
});

test('Events are recorded as kubectl describe shows them', async () => {
  const pb = (await api.get<PolicyBundle>(POLICY_BUNDLES, 'team-a', 'b2'))!;
  await controller.recordEvent(
    { regarding: { apiVersion: API_VERSION, kind: 'PolicyBundle', namespace: 'team-a', name: 'b2', uid: pb.metadata.uid }, type: 'Warning', reason: 'CompileFailed', message: 'x'.repeat(2000) },
    'portcullis-controller',
  );
  const evs = await kube.list('v1', 'Event', 'team-a');
  assert.equal(evs.length, 1);
  const ev = evs[0]!;
  assert.deepEqual([ev.type, ev.reason, ev.message.length, ev.source.component, ev.count], ['Warning', 'CompileFailed', 1024, 'portcullis-controller', 1]);
  assert.deepEqual([ev.involvedObject.kind, ev.involvedObject.name, ev.involvedObject.uid], ['PolicyBundle', 'b2', pb.metadata.uid]);
  const described = (await cp.kubectlOk(['describe', 'policybundle', 'b2', '-n', 'team-a'])) as string;
  assert.match(described, /Warning\s+CompileFailed\s+.*portcullis-controller\s+x{10}/);
});

test('ConfigMaps and Secrets of its own namespace, as the controller', async () => {
  const cm = { metadata: { name: 'portcullis-last-good-x', namespace: SYSTEM_NAMESPACE }, data: { generation: '1' }, binaryData: { 'bundle.tar.gz': Buffer.from([0, 1, 2, 255]).toString('base64') } };
  await controller.writeConfigMap(cm);
  await controller.writeConfigMap({ ...cm, data: { generation: '2' } });
  const read = (await controller.readConfigMap(SYSTEM_NAMESPACE, cm.metadata.name))!;
  assert.deepEqual([read.data, read.binaryData], [{ generation: '2' }, cm.binaryData]);
  await controller.deleteConfigMap(SYSTEM_NAMESPACE, cm.metadata.name);
  await controller.deleteConfigMap(SYSTEM_NAMESPACE, cm.metadata.name);
  assert.equal(await controller.readConfigMap(SYSTEM_NAMESPACE, cm.metadata.name), undefined);
  const secret = { metadata: { name: 'portcullis-webhook-tls', namespace: SYSTEM_NAMESPACE }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' } };
  await controller.createSecret(secret);
  await assert.rejects(controller.createSecret(secret), (e) => kubeStatusCode(e) === 409);
  assert.deepEqual((await controller.readSecret(SYSTEM_NAMESPACE, 'portcullis-webhook-tls'))?.data, secret.data);
});

test('caBundle is patched into every webhook of a configuration, as the controller', async () => {
  await kubectlApply(cp, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'portcullis-policybundle-validator' },
    webhooks: ['a', 'b'].map((n) => ({
      name: `${n}.portcullis.dev`,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Ignore',
      clientConfig: n === 'a' ? { service: { name: 's', namespace: 'n', path: '/x' } } : { url: 'https://127.0.0.1:1/x', caBundle: Buffer.from('old').toString('base64') },
      rules: [{ operations: ['CREATE'], apiGroups: ['portcullis.dev'], apiVersions: ['v1alpha1'], resources: ['policybundles'] }],
    })),
  });
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64');
  await controller.patchWebhookCaBundle('validating', 'portcullis-policybundle-validator', ca);
  const v = await kube.get('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'portcullis-policybundle-validator');
  assert.deepEqual(v.webhooks.map((w: any) => w.clientConfig.caBundle), [ca, ca]);
  await assert.rejects(controller.patchWebhookCaBundle('mutating', 'someone-elses', ca), (e) => kubeStatusCode(e) === 403);
  await kube.delete('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'portcullis-policybundle-validator');
});

test('TokenReview: a token from the TokenRequest API names its account, for its audience only', async () => {
  await cp.kubectlOk(['create', 'serviceaccount', 'agent', '-n', 'agents']);
  const token = (await cp.kubectlOk(['create', 'token', 'agent', '-n', 'agents', '--audience', 'portcullis.dev'])).trim();
  const ok = await controller.reviewToken(token, ['portcullis.dev']);
  assert.deepEqual([ok.authenticated, ok.username, ok.audiences], [true, 'system:serviceaccount:agents:agent', ['portcullis.dev']]);
  const elsewhere = await controller.reviewToken(token, ['https://kubernetes.default.svc']);
  assert.equal(elsewhere.authenticated, false);
  assert.match(elsewhere.error ?? '', /audience/);
  // The API server's own audience: what every pod's default token carries, and not ours.
  const apiToken = (await cp.kubectlOk(['create', 'token', 'agent', '-n', 'agents'])).trim();
  assert.equal((await controller.reviewToken(apiToken, ['portcullis.dev'])).authenticated, false);
  assert.equal((await controller.reviewToken('made-up', ['portcullis.dev'])).authenticated, false);
  // A bound token dies with its ServiceAccount, once the API server's own cache of token answers (10 s) lets go.
  await cp.kubectlOk(['delete', 'serviceaccount', 'agent', '-n', 'agents']);
  await until(async () => !(await controller.reviewToken(token, ['portcullis.dev'])).authenticated, 'the token of the deleted account refused', 30_000);
});

test('SelfSubjectReview: the controller is its ServiceAccount', async () => {
  const me = await controller.whoAmI();
  assert.equal(me.username, `system:serviceaccount:${SYSTEM_NAMESPACE}:portcullis-controller`);
  assert.ok(me.groups.includes('system:serviceaccounts') && me.groups.includes(`system:serviceaccounts:${SYSTEM_NAMESPACE}`), me.groups.join(', '));
});

test('a quiet watch is not reopened every 30 s (the inactivity timeout of client-node; the server sends a BOOKMARK a minute)', async () => {
  // Most of the time watched has passed in the tests above.
  await until(() => Date.now() - quiet.since > 36_000, 'more than thirty seconds of watching', 45_000);
  assert.equal(watchesOf('actionapprovals', quiet.since - 1000).length, 1, 'one watch request, never reopened');
});

test('an API server outage: informers restart with backoff and catch up; one started meanwhile resolves once it is back, with the cache filled', async () => {
  const errors: unknown[] = [];
  const running = await api.informer<PolicyBundle>(POLICY_BUNDLES, { upsert: () => {}, remove: () => {} }, { onError: (e) => errors.push(e) });
  await cp.stopApiServer();
  const lateErrors: unknown[] = [];
  let resolved = false;
  const pending = api.informer<PolicyBundle>(POLICY_BUNDLES, { upsert: () => {}, remove: () => {} }, { onError: (e) => lateErrors.push(e) }).then((i) => ((resolved = true), i));
  try {
    await until(() => errors.length > 0, 'a watch error');
    assert.match((errors[0] as Error).message, /Kubernetes API: list\/watch policybundles failed/);
    await until(() => lateErrors.length >= 2, 'two failed lists of the informer started during the outage');
    assert.equal(resolved, false, 'not resolved without a list');
    await cp.startApiServer();
    await kubectlApply(cp, policyBundle('after-outage', 'team-a'));
    await until(() => running.get('team-a', 'after-outage'), 'the object written after the outage', 30_000);
    await until(() => informer.get('team-a', 'after-outage'), 'the first informer too', 30_000);
    const late = await pending;
    await until(() => late.get('team-a', 'after-outage'), 'the late informer too', 30_000);
    assert.ok(late.get('team-a', 'before-start'), 'its first list filled the cache');
  } finally {
    await running.stop();
    // (One that never resolved cannot be stopped: the test has failed already.)
    if (resolved) await (await pending).stop();
  }
});
