/**
 * Apply a PolicyBundle to the (stand-in) API server → the production
 * controller compiles, tests and publishes it → every connected sidecar bundle
 * client, each with a real OpaWasmEngine, enforces its digest. A broken bundle
 * is refused by the validating webhook (over TLS, trusted through the caBundle
 * the controller patched); forced past it, the status says why, an Event is
 * recorded, and sidecars keep the old digest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, until, type Harness } from '../support/controller-harness.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import { BundleClient } from '../../src/sidecar/bundle-client.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';

const N = 5;
let h: Harness;
const sidecars: { client: BundleClient; engine: OpaWasmEngine }[] = [];

function statusOf(name: string): any {
  return h.fake.get('portcullis.dev/v1alpha1', 'PolicyBundle', 'agents', name)?.status;
}

function condition(name: string, type: string): any {
  return statusOf(name)?.conditions?.find((c: any) => c.type === type);
}

before(async () => {
  h = await startHarness();
  await h.fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'agents' } });
  for (let i = 0; i < N; i++) {
    const engine = new OpaWasmEngine();
    const client = new BundleClient({ controllerUrl: h.controllers[0]!.apiUrl, bundle: 'agents/research', engine, logger: h.logger, waitMs: 5000, initialBackoffMs: 50 });
    client.start();
    sidecars.push({ client, engine });
  }
});

after(async () => {
  await Promise.all(sidecars.map((s) => s.client.stop()));
  await h.close();
});

test('the controller patched the caBundle of both webhook configurations', () => {
  const ca = Buffer.from(h.controllers[0]!.tls.caPem).toString('base64');
  const m = h.fake.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, 'portcullis-sidecar-injector')!;
  const v = h.fake.get('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'portcullis-policybundle-validator')!;
  assert.equal(m.webhooks.length, 3, 'the injection hooks: namespace label, pod label, annotation only');
  for (const hook of [...m.webhooks, ...v.webhooks]) assert.equal(hook.clientConfig.caBundle, ca, hook.name);
});

test('apply a bundle → status Ready with its digest → every sidecar enforces it', async () => {
  await h.fake.apply(policyBundle('research', 'agents', { allowMethod: 'GET' }));
  assert.ok(h.fake.admission.calls.some((c) => c.webhook === 'validate.policybundles.portcullis.dev' && c.allowed));
  const ready = await until(() => condition('research', 'Ready')?.status === 'True' && statusOf('research'), 'Ready=True');
  assert.match(ready.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(ready.servingDigest, ready.digest);
  assert.equal(ready.observedGeneration, 1);
  assert.equal(ready.testSummary, '2/2');
  assert.equal(condition('research', 'Compiled').status, 'True');
  assert.equal(condition('research', 'TestsPassed').status, 'True');
  await until(() => sidecars.every((s) => s.client.digest() === ready.digest), 'all sidecars on the digest');
  const published = await until(() => h.fake.list('v1', 'Event', 'agents').find((e) => e.reason === 'Published'), 'a Published event');
  assert.equal(published.type, 'Normal');
  assert.match(published.message, new RegExp(ready.digest));
  for (const s of sidecars) {
    assert.equal((s.engine.evaluate({ action: { http: { method: 'GET' } } }).result as any).effect, 'allow');
    assert.equal((s.engine.evaluate({ action: { http: { method: 'POST' } } }).result as any).effect, 'deny');
  }
});

test('over TLS: a sidecar that trusts the controller CA loads the bundle; one that does not, loads nothing', async () => {
  const c = h.controllers[0]!;
  const url = `https://127.0.0.1:${c.webhookPort}`;
  const trusted = new BundleClient({ controllerUrl: url, ca: c.tls.caPem, bundle: 'agents/research', engine: new OpaWasmEngine(), logger: h.logger, waitMs: 2000, initialBackoffMs: 50 });
  const untrusted = new BundleClient({ controllerUrl: url, bundle: 'agents/research', engine: new OpaWasmEngine(), logger: h.logger, waitMs: 2000, initialBackoffMs: 50 });
  trusted.start();
  untrusted.start();
  try {
    await until(() => trusted.digest() === statusOf('research').servingDigest, 'the TLS client to load');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(untrusted.digest(), undefined);
  } finally {
    await Promise.all([trusted.stop(), untrusted.stop()]);
  }
});

test('a change reaches every sidecar', async () => {
  const before = statusOf('research').digest;
  await h.fake.apply(policyBundle('research', 'agents', { allowMethod: 'POST' }));
  const st = await until(() => statusOf('research')?.observedGeneration === 2 && condition('research', 'Ready')?.status === 'True' && statusOf('research'), 'generation 2 ready');
  assert.notEqual(st.digest, before);
  await until(() => sidecars.every((s) => s.client.digest() === st.digest), 'all sidecars on the new digest');
  for (const s of sidecars) assert.equal((s.engine.evaluate({ action: { http: { method: 'POST' } } }).result as any).effect, 'allow');
});

test('a broken bundle is refused at apply with the compiler message', async () => {
  await assert.rejects(h.fake.apply(policyBundle('research', 'agents', { broken: true })), (e: any) => {
    assert.equal(e.code, 422);
    assert.match(e.message, /admission webhook "validate\.policybundles\.portcullis\.dev" denied the request: PolicyBundle agents\/research does not compile: .*decision\.rego/);
    return true;
  });
  assert.equal(statusOf('research').observedGeneration, 2);
});

test('a bundle whose tests fail is refused at apply, naming the test', async () => {
  await assert.rejects(h.fake.apply(policyBundle('research', 'agents', { failingTest: true })), (e: any) => {
    assert.match(e.message, /fails its tests: 1 of 2 tests failed: other method/);
    return true;
  });
});

test('forced past the webhook, a broken bundle: status says why, an Event, sidecars keep the old digest', async () => {
  const good = statusOf('research').digest;
  await h.fake.apply(policyBundle('research', 'agents', { broken: true }), { skipAdmission: true });
  await until(() => statusOf('research')?.observedGeneration === 3, 'generation 3 observed');
  const compiled = condition('research', 'Compiled');
  assert.equal(compiled.status, 'False');
  assert.equal(compiled.reason, 'CompileFailed');
  assert.match(compiled.message, /decision\.rego/);
  const ready = condition('research', 'Ready');
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'CompileFailed');
  assert.match(ready.message, new RegExp(`still serving ${good}`));
  assert.equal(statusOf('research').servingDigest, good);
  const events = await until(() => {
    const found = h.fake.list('v1', 'Event', 'agents').filter((e) => e.reason === 'CompileFailed');
    return found.length > 0 ? found : undefined;
  }, 'a CompileFailed event');
  assert.equal(events[0]!.type, 'Warning');
  assert.equal(events[0]!.involvedObject.name, 'research');
  await h.controllers[0]!.reconciler.idle();
  for (const s of sidecars) assert.equal(s.client.digest(), good);
});

test('forced past the webhook, failing tests: TestsPassed=False, sidecars keep the old digest', async () => {
  const good = statusOf('research').servingDigest;
  await h.fake.apply(policyBundle('research', 'agents', { failingTest: true, allowMethod: 'PUT' }), { skipAdmission: true });
  await until(() => statusOf('research')?.observedGeneration === 4, 'generation 4 observed');
  const tests = condition('research', 'TestsPassed');
  assert.equal(tests.status, 'False');
  assert.equal(tests.reason, 'TestsFailed');
  assert.match(tests.message, /other method/);
  assert.equal(condition('research', 'Compiled').status, 'True');
  assert.equal(statusOf('research').servingDigest, good);
  for (const s of sidecars) assert.equal(s.client.digest(), good);
});

test('fixing the bundle rolls out again and Ready turns True', async () => {
  await h.fake.apply(policyBundle('research', 'agents', { allowMethod: 'PATCH' }));
  const st = await until(() => statusOf('research')?.observedGeneration === 5 && condition('research', 'Ready')?.status === 'True' && statusOf('research'), 'generation 5 ready');
  await until(() => sidecars.every((s) => s.client.digest() === st.digest), 'sidecars on generation 5');
});

test('status writes settle: the controller does not answer its own writes with more writes', async () => {
  const writes = () => h.fake.requests.filter((r) => r.startsWith('PATCH') && r.includes('/policybundles/research/status')).length;
  await h.controllers[0]!.reconciler.idle();
  const settled = writes();
  // One write per generation at most (5 generations so far).
  assert.ok(settled <= 5, `${settled} status writes`);
  await h.controllers[0]!.reconciler.onLeadership();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(writes(), settled);
});

test('a controller that restarts while the current generation is broken serves the stored last good bundle', async () => {
  const good = statusOf('research').servingDigest;
  await h.fake.apply(policyBundle('research', 'agents', { broken: true }), { skipAdmission: true });
  await until(() => statusOf('research')?.observedGeneration === 6, 'generation 6 observed');
  const old = h.controllers[0]!;
  await old.stop();
  h.controllers.splice(0, 1);
  const fresh = await h.startReplica('controller-restarted');
  const res = await until(async () => {
    const r = await fetch(`${fresh.apiUrl}/v1/bundles/agents/research`);
    return r.status === 200 ? r : undefined;
  }, 'the restarted controller to serve');
  assert.equal(res.headers.get('etag'), `"${good}"`);
  await until(() => fresh.elector.isLeader(), 'the restarted controller to lead');
  await fresh.reconciler.onLeadership();
  assert.match(condition('research', 'Ready').message, new RegExp(`still serving ${good}`));
});
