/**
 * Apply a PolicyBundle with kubectl to a real kube-apiserver → the production
 * controller compiles, tests and publishes it → every connected sidecar bundle
 * client, each with a real OpaWasmEngine, enforces its digest. A broken bundle
 * is refused by the validating webhook (over TLS, trusted through the caBundle
 * the controller patched); forced past it, the status says why, an Event is
 * recorded, and sidecars keep the old digest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import { BundleClient } from '../../src/sidecar/bundle-client.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { parseBundleVerificationKeys } from '../../src/policy/bundle-signing.ts';

const N = 5;
let h: Harness;
const sidecars: { client: BundleClient; engine: OpaWasmEngine }[] = [];

async function statusOf(name: string): Promise<any> {
  return (await h.kube.get('portcullis.dev/v1alpha1', 'PolicyBundle', 'agents', name))?.status;
}

async function condition(name: string, type: string): Promise<any> {
  return (await statusOf(name))?.conditions?.find((c: any) => c.type === type);
}

const events = (reason: string) => async () => {
  const found = (await h.kube.list('v1', 'Event', 'agents')).filter((e) => e.reason === reason);
  return found.length > 0 ? found : undefined;
};

const observed = (generation: number) => async () => (await statusOf('research'))?.observedGeneration === generation;
const readyAt = (generation: number) => async () => {
  const st = await statusOf('research');
  return st?.observedGeneration === generation && st.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True' && st;
};

before(async () => {
  // Sidecars without pods or tokens (controller-bundle-trust.test.ts covers tokens); signatures are checked.
  h = await startHarness({ configOverrides: { bundleAuth: 'none' } });
  const verificationKeys = parseBundleVerificationKeys(h.controllers[0]!.bundlePublicKeys, 'PORTCULLIS_BUNDLE_PUBLIC_KEY');
  await h.namespace('agents');
  for (let i = 0; i < N; i++) {
    const engine = new OpaWasmEngine();
    const client = new BundleClient({ controllerUrl: h.controllers[0]!.apiUrl, bundle: 'agents/research', engine, logger: h.logger, waitMs: 5000, initialBackoffMs: 50, verificationKeys });
    client.start();
    sidecars.push({ client, engine });
  }
});

after(async () => {
  await Promise.all(sidecars.map((s) => s.client.stop()));
  await h.close();
});

test('the controller patched the caBundle of both webhook configurations', async () => {
  const ca = Buffer.from(h.controllers[0]!.tls.caPem).toString('base64');
  const m = await h.kube.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, 'portcullis-sidecar-injector');
  const v = await h.kube.get('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'portcullis-policybundle-validator');
  assert.deepEqual(
    m.webhooks.map((w: { name: string }) => w.name.split('.')[0]).sort(),
    ['attest', 'inject', 'inject-annotated-pods', 'inject-labelled-pods'].sort(),
    'the injection hooks (namespace label, pod label, annotation only) and the verdict attestation',
  );
  for (const hook of [...m.webhooks, ...v.webhooks]) assert.equal(hook.clientConfig.caBundle, ca, hook.name);
});

test('apply a bundle → status Ready with its digest → every sidecar enforces it', async () => {
  await h.apply(policyBundle('research', 'agents', { allowMethod: 'GET' }));
  const ready = await until(async () => (await condition('research', 'Ready'))?.status === 'True' && statusOf('research'), 'Ready=True');
  assert.match(ready.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(ready.servingDigest, ready.digest);
  assert.equal(ready.observedGeneration, 1);
  assert.equal(ready.testSummary, '2/2');
  assert.equal((await condition('research', 'Compiled')).status, 'True');
  assert.equal((await condition('research', 'TestsPassed')).status, 'True');
  await until(() => sidecars.every((s) => s.client.digest() === ready.digest), 'all sidecars on the digest');
  const [published] = await until(events('Published'), 'a Published event');
  assert.equal(published!.type, 'Normal');
  assert.match(published!.message, new RegExp(ready.digest));
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
    const serving = (await statusOf('research')).servingDigest;
    await until(() => trusted.digest() === serving, 'the TLS client to load');
    // The client without the CA has tried, and failed, more than once by now.
    await until(() => (untrusted as unknown as { failures: number }).failures >= 2, 'the client without the CA to be refused twice');
    assert.equal(untrusted.digest(), undefined);
  } finally {
    await Promise.all([trusted.stop(), untrusted.stop()]);
  }
});

test('a change reaches every sidecar', async () => {
  const before = (await statusOf('research')).digest;
  await h.apply(policyBundle('research', 'agents', { allowMethod: 'POST' }));
  const st = await until(readyAt(2), 'generation 2 ready');
  assert.notEqual(st.digest, before);
  await until(() => sidecars.every((s) => s.client.digest() === st.digest), 'all sidecars on the new digest');
  for (const s of sidecars) assert.equal((s.engine.evaluate({ action: { http: { method: 'POST' } } }).result as any).effect, 'allow');
});

test('a broken bundle is refused at `kubectl apply` with the compiler message', async () => {
  await assert.rejects(h.apply(policyBundle('research', 'agents', { broken: true })), (e: any) => {
    assert.equal(e.exitCode, 1);
    assert.match(e.message, /admission webhook "validate\.policybundles\.portcullis\.dev" denied the request: PolicyBundle agents\/research does not compile: .*decision\.rego/);
    return true;
  });
  assert.equal((await statusOf('research')).observedGeneration, 2);
});

test('a bundle whose tests fail is refused at apply, naming the test', async () => {
  await assert.rejects(h.apply(policyBundle('research', 'agents', { failingTest: true })), (e: any) => {
    assert.match(e.message, /fails its tests: 1 of 2 tests failed: other method/);
    return true;
  });
});

test('forced past the webhook, a broken bundle: status says why, an Event, sidecars keep the old digest', async () => {
  const good = (await statusOf('research')).digest;
  await h.withoutValidation(() => h.apply(policyBundle('research', 'agents', { broken: true })));
  await until(observed(3), 'generation 3 observed');
  const compiled = await condition('research', 'Compiled');
  assert.equal(compiled.status, 'False');
  assert.equal(compiled.reason, 'CompileFailed');
  assert.match(compiled.message, /decision\.rego/);
  const ready = await condition('research', 'Ready');
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'CompileFailed');
  assert.match(ready.message, new RegExp(`still serving ${good}`));
  assert.equal((await statusOf('research')).servingDigest, good);
  const failed = await until(events('CompileFailed'), 'a CompileFailed event');
  assert.equal(failed[0]!.type, 'Warning');
  assert.equal(failed[0]!.involvedObject.name, 'research');
  await h.controllers[0]!.reconciler.idle();
  for (const s of sidecars) assert.equal(s.client.digest(), good);
});

test('forced past the webhook, failing tests: TestsPassed=False, sidecars keep the old digest', async () => {
  const good = (await statusOf('research')).servingDigest;
  await h.withoutValidation(() => h.apply(policyBundle('research', 'agents', { failingTest: true, allowMethod: 'PUT' })));
  await until(observed(4), 'generation 4 observed');
  const tests = await condition('research', 'TestsPassed');
  assert.equal(tests.status, 'False');
  assert.equal(tests.reason, 'TestsFailed');
  assert.match(tests.message, /other method/);
  assert.equal((await condition('research', 'Compiled')).status, 'True');
  assert.equal((await statusOf('research')).servingDigest, good);
  for (const s of sidecars) assert.equal(s.client.digest(), good);
});

test('fixing the bundle rolls out again and Ready turns True', async () => {
  await h.apply(policyBundle('research', 'agents', { allowMethod: 'PATCH' }));
  const st = await until(readyAt(5), 'generation 5 ready');
  await until(() => sidecars.every((s) => s.client.digest() === st.digest), 'sidecars on generation 5');
});

test('status writes settle: the controller does not answer its own writes with more writes (the API server\'s audit log)', async () => {
  const writes = () =>
    h.cp.auditEvents().filter((e) => e.stage === 'ResponseComplete' && e.verb === 'patch' && e.objectRef?.resource === 'policybundles' && e.objectRef?.subresource === 'status' && e.objectRef?.name === 'research').length;
  await h.controllers[0]!.reconciler.idle();
  const settled = writes();
  // One write per generation at most (5 generations so far).
  assert.ok(settled <= 5, `${settled} status writes`);
  await h.controllers[0]!.reconciler.onLeadership();
  await h.controllers[0]!.reconciler.idle();
  assert.equal(writes(), settled);
});

test('a controller that restarts while the current generation is broken serves the stored last good bundle', async () => {
  const good = (await statusOf('research')).servingDigest;
  await h.withoutValidation(() => h.apply(policyBundle('research', 'agents', { broken: true })));
  await until(observed(6), 'generation 6 observed');
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
  assert.match((await condition('research', 'Ready')).message, new RegExp(`still serving ${good}`));
});
