import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKube } from '../../support/fake-kube/server.ts';
import { findType } from '../../support/fake-kube/resources.ts';
import { ClientNodeKubeApi } from '../../../src/controller/k8s/client-node-kube-api.ts';
import { POLICY_BUNDLES, API_VERSION, type PolicyBundle } from '../../../src/controller/resources.ts';
import { kubeStatusCode, type Informer } from '../../../src/controller/k8s/kube-api.ts';

let fake: FakeKube;
let api: ClientNodeKubeApi;
let informer: Informer<PolicyBundle>;
const seen: string[] = [];
const removed: string[] = [];

function bundle(name: string, entrypoint = 'portcullis/decision'): PolicyBundle {
  return { apiVersion: API_VERSION, kind: 'PolicyBundle', metadata: { name, namespace: 'team-a' }, spec: { entrypoint } };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  fake = new FakeKube({ bookmarkIntervalMs: 50 });
  await fake.start();
  api = ClientNodeKubeApi.load(fake.writeKubeconfig(), { restartDelayMs: 20 });
  await fake.apply(bundle('before-start'));
  informer = await api.informer<PolicyBundle>(POLICY_BUNDLES, {
    upsert: (o) => seen.push(`${o.metadata.name}@${o.metadata.resourceVersion}`),
    remove: (o) => removed.push(o.metadata.name!),
  });
});

after(async () => {
  await informer.stop();
  await fake.close();
});

test('the first list fills the cache before informer() resolves', () => {
  assert.ok(informer.get('team-a', 'before-start'));
  assert.ok(seen.some((s) => s.startsWith('before-start@')));
});

test('watch events arrive; the watch asked for bookmarks', async () => {
  await fake.apply(bundle('b1'));
  await until(() => !!informer.get('team-a', 'b1'), 'b1 in cache');
  assert.ok(fake.requests.some((r) => r.includes('watch=true') && r.includes('allowWatchBookmarks=true')));
});

test('a dropped watch resumes from its resourceVersion without re-listing', async () => {
  const lists = fake.requests.filter((r) => r.startsWith('GET /apis/portcullis.dev/v1alpha1/policybundles') && !r.includes('watch=')).length;
  fake.dropWatches();
  await fake.apply(bundle('b2'));
  await until(() => !!informer.get('team-a', 'b2'), 'b2 after drop');
  const listsAfter = fake.requests.filter((r) => r.startsWith('GET /apis/portcullis.dev/v1alpha1/policybundles') && !r.includes('watch=')).length;
  assert.equal(listsAfter, lists);
});

test('410 Gone makes the informer re-list and keep following changes', async () => {
  const lists = () => fake.requests.filter((r) => r.startsWith('GET /apis/portcullis.dev/v1alpha1/policybundles') && !r.includes('watch=')).length;
  const before = lists();
  await until(() => fake.openWatchCount() > 0, 'an open watch');
  fake.compact();
  fake.expireWatches();
  await until(() => lists() > before, 're-list');
  fake.store.delete(findType('portcullis.dev', 'v1alpha1', 'policybundles')!, 'team-a', 'b1');
  await until(() => removed.includes('b1'), 'b1 removed');
});

test('an API server outage: the informer restarts with backoff and catches up', async () => {
  const errors: unknown[] = [];
  const restarted = await api.informer<PolicyBundle>(POLICY_BUNDLES, { upsert: () => {}, remove: () => {} }, { onError: (e) => errors.push(e) });
  try {
    const port = Number(new URL(fake.url).port);
    await fake.close();
    await until(() => errors.length > 0, 'a watch error');
    await fake.start(port);
    await fake.apply(bundle('after-outage'));
    await until(() => !!restarted.get('team-a', 'after-outage'), 'the object written after the outage');
  } finally {
    await restarted.stop();
  }
});

test('an informer started while the API server is down resolves once it is back, with the cache filled', async () => {
  const port = Number(new URL(fake.url).port);
  await fake.close();
  let resolved = false;
  const pending = api.informer<PolicyBundle>(POLICY_BUNDLES, { upsert: () => {}, remove: () => {} }).then((i) => ((resolved = true), i));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(resolved, false);
  await fake.start(port);
  const late = await pending;
  try {
    assert.ok(late.get('team-a', 'after-outage'));
  } finally {
    await late.stop();
  }
});

test('status subresource: merge patch of status leaves the spec alone; spec writes bump generation', async () => {
  await api.patchStatus(POLICY_BUNDLES, 'team-a', 'b2', { digest: 'sha256:x', observedGeneration: 1 });
  const o = fake.get(API_VERSION, 'PolicyBundle', 'team-a', 'b2')!;
  assert.equal(o.status.digest, 'sha256:x');
  assert.equal(o.metadata.generation, 1);
  await api.mergePatch(POLICY_BUNDLES, 'team-a', 'b2', { spec: { mode: 'observe' }, status: { digest: 'ignored' } });
  const o2 = fake.get(API_VERSION, 'PolicyBundle', 'team-a', 'b2')!;
  assert.equal(o2.metadata.generation, 2);
  assert.equal(o2.status.digest, 'sha256:x');
});

test('errors carry the HTTP status', async () => {
  await assert.rejects(api.patchStatus(POLICY_BUNDLES, 'team-a', 'nope', {}), (e) => kubeStatusCode(e) === 404);
  assert.equal(await api.get(POLICY_BUNDLES, 'team-a', 'nope'), undefined);
});

test('leases: create, replace, stale replace conflicts', async () => {
  const l = await api.createLease({ metadata: { name: 'l', namespace: 'sys' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date().toISOString() } });
  const l2 = await api.replaceLease({ ...l, spec: { ...l.spec, holderIdentity: 'b' } });
  assert.equal(l2.spec.holderIdentity, 'b');
  await assert.rejects(api.replaceLease({ ...l, spec: { ...l.spec, holderIdentity: 'c' } }), (e) => kubeStatusCode(e) === 409);
  assert.equal((await api.readLease('sys', 'l'))!.spec.holderIdentity, 'b');
});

test('events are recorded', async () => {
  await api.recordEvent({ regarding: { apiVersion: API_VERSION, kind: 'PolicyBundle', namespace: 'team-a', name: 'b2' }, type: 'Warning', reason: 'CompileFailed', message: 'x' }, 'portcullis-controller');
  const evs = fake.list('v1', 'Event', 'team-a');
  assert.equal(evs.length, 1);
  assert.equal(evs[0]!.reason, 'CompileFailed');
  assert.equal(evs[0]!.involvedObject.name, 'b2');
});

test('caBundle is patched into every webhook of a configuration', async () => {
  await fake.apply({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'v' },
    webhooks: [{ name: 'a.portcullis.dev', clientConfig: { service: { name: 's', namespace: 'n' } } }, { name: 'b.portcullis.dev', clientConfig: { url: 'https://x' } }],
  } as any);
  await api.patchWebhookCaBundle('validating', 'v', 'Q0E=');
  const v = fake.get('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'v')!;
  assert.deepEqual(v.webhooks.map((w: any) => w.clientConfig.caBundle), ['Q0E=', 'Q0E=']);
});

test('TokenReview: a projected service account token names its account for its audience only', async () => {
  const token = fake.issueServiceAccountToken('agents', 'agent', ['portcullis.dev']);
  const ok = await api.reviewToken(token, ['portcullis.dev']);
  assert.deepEqual([ok.authenticated, ok.username, ok.audiences], [true, 'system:serviceaccount:agents:agent', ['portcullis.dev']]);
  assert.equal((await api.reviewToken(token, ['https://kubernetes.default.svc'])).authenticated, false);
  assert.equal((await api.reviewToken('made-up', ['portcullis.dev'])).authenticated, false);
  assert.ok(fake.requests.includes('POST /apis/authentication.k8s.io/v1/tokenreviews'));
});
