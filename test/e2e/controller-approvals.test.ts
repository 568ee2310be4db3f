/**
 * An escalated call, end to end on the Kubernetes path: the shipped policies
 * are applied as a PolicyBundle; a real sidecar follows the controller
 * (bundle client) and sends escalations to it (controller approval broker);
 * the held call becomes an ActionApproval in a real kube-apiserver;
 * `portcullis approve NAME --kube` patches the verdict through the Kubernetes
 * API, as a user authenticated by a client certificate and authorised by the
 * chart's approver ClusterRole under the real RBAC authorizer; the call
 * reaches the upstream. Also: a verdict for another input hash
 * approves nothing; an approval nobody answers expires, is marked Expired and
 * is cleaned up. The approvals API takes requests only from a sidecar whose
 * projected service account token — issued by the API server's TokenRequest
 * API for audience portcullis.dev and checked by a real TokenReview — is of
 * the namespace it asks in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { startHarness, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { BundleClient } from '../../src/sidecar/bundle-client.ts';
import { createBundleSigner, parseBundleVerificationKeys, type BundleVerificationKey } from '../../src/policy/bundle-signing.ts';
import { signVerdictAttestation, verifyVerdictAttestation } from '../../src/gate/verdict-attestation.ts';
import { ControllerApprovalBroker } from '../../src/sidecar/controller-approvals.ts';
import { buildSidecar } from '../../src/sidecar/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { startPaymentsApi, type DemoApi } from '../../src/demo/http-apis.ts';
import { main } from '../../src/cli/main.ts';
import { ErrorCodes, isPortcullisError } from '../../src/errors.ts';
import { POLICIES_DIR } from './shipped-bundle.ts';
import type { ApprovalRequest } from '../../src/gate/types.ts';

let h: Harness;
let payments: DemoApi;
let sidecar: FastifyInstance;
let base: string;
let client: BundleClient;
let broker: ControllerApprovalBroker;
const kubeconfigs = new Map<string, string>();
const kubeconfigOf = (user: string): string => kubeconfigs.get(user)!;
let apiUrl: string;
let tokenFile: string;
let keys: BundleVerificationKey[];

const approvalsIn = (ns: string) => h.kube.list('portcullis.dev/v1alpha1', 'ActionApproval', ns);
const approval = (name: string) => h.kube.get('portcullis.dev/v1alpha1', 'ActionApproval', 'agents', name);

let pods = 0;

/** A pod created through the API server (and so through the injection webhook when `inject`). */
async function podOf(namespace: string, serviceAccount: string, inject: boolean): Promise<any> {
  return h.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${serviceAccount}-${++pods}`, namespace, ...(inject ? { annotations: { 'portcullis.dev/inject': 'true' } } : {}) },
    spec: { serviceAccountName: serviceAccount, containers: [{ name: 'agent', image: 'ghcr.io/example/agent:1' }] },
  });
}

/** A token from the TokenRequest API bound to `pod`, as the kubelet projects it into the pod's containers. */
async function boundToken(pod: any, audience = 'portcullis.dev'): Promise<string> {
  const { namespace, name, uid } = pod.metadata;
  const args = ['create', 'token', pod.spec.serviceAccountName, '-n', namespace, `--audience=${audience}`, '--duration=1h', '--bound-object-kind=Pod', `--bound-object-name=${name}`, `--bound-object-uid=${uid}`];
  return (await h.cp.kubectlOk(args)).trim();
}

const sidecarPods = new Map<string, any>();

/** The token of an injected sidecar of that service account (one pod each, made once). */
async function tokenFor(namespace: string, serviceAccount: string, audience = 'portcullis.dev'): Promise<string> {
  const key = `${namespace}/${serviceAccount}`;
  if (!sidecarPods.has(key)) sidecarPods.set(key, await podOf(namespace, serviceAccount, true));
  return boundToken(sidecarPods.get(key), audience);
}

/** Writes a decision straight into etcd, under validation and admission: what neither can stop a storage-level attacker from doing. */
async function forceDecision(name: string, decision: unknown): Promise<void> {
  const key = `/registry/portcullis.dev/actionapprovals/agents/${name}`;
  const stored = JSON.parse((await h.cp.etcdGet(key))!);
  stored.spec.decision = decision;
  await h.cp.etcdPut(key, JSON.stringify(stored));
}

function cli(): { io: any; out: string[] } {
  const out: string[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) });
  return { io: { stdout: sink, stderr: sink, env: {}, cwd: process.cwd() }, out };
}

before(async () => {
  h = await startHarness({ configOverrides: { approvalRetentionSeconds: '1' } });
  // Users as the API server knows them: client certificates (CN = user, O = group).
  kubeconfigs.set('alice', await h.cp.userKubeconfig('alice', ['payments'], 'agents'));
  kubeconfigs.set('bob', await h.cp.userKubeconfig('bob', ['payments'], 'agents'));
  kubeconfigs.set('eve', await h.cp.userKubeconfig('eve', ['engineering'], 'agents'));
  kubeconfigs.set('mallory', await h.cp.userKubeconfig('mallory', ['visitors'], 'agents'));
  // The chart's approver role, bound as a platform team would; mallory has no binding.
  for (const group of ['payments', 'engineering']) {
    await h.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `approvers-${group}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'portcullis-approver' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
    });
  }
  payments = await startPaymentsApi();
  await h.namespace('agents');
  await h.namespace('other');
  for (const [ns, sa] of [['agents', 'agent'], ['agents', 'runner'], ['other', 'intruder']] as const) {
    await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } });
  }
  const source = await readBundleDir(POLICIES_DIR);
  await h.apply({
    apiVersion: 'portcullis.dev/v1alpha1',
    kind: 'PolicyBundle',
    metadata: { name: 'shipped', namespace: 'agents' },
    spec: {
      entrypoint: source.entrypoints[0],
      modules: source.modules,
      data: source.data,
      tools: source.tools.map((t) => (t.name === 'payments' ? { ...t, url: payments.url } : t)),
      tests: source.tests as any,
    },
  });
  const engine = new OpaWasmEngine();
  apiUrl = h.controllers[0]!.apiUrl;
  // What the kubelet mounts from the injected projected volume.
  tokenFile = join(mkdtempSync(join(tmpdir(), 'portcullis-token-')), 'token');
  writeFileSync(tokenFile, await tokenFor('agents', 'agent'));
  // As an injected sidecar fetches: its token, and the controller's key to verify the signature.
  const verificationKeys = parseBundleVerificationKeys(h.controllers[0]!.bundlePublicKeys, 'PORTCULLIS_BUNDLE_PUBLIC_KEY');
  client = new BundleClient({ controllerUrl: apiUrl, bundle: 'agents/shipped', engine, logger: h.logger, waitMs: 5000, tokenFile, verificationKeys });
  client.start();
  await until(() => client.digest(), 'the sidecar to load the bundle', 60_000);
  // As `portcullis sidecar` does: the keys that verify bundles also verify who decided.
  broker = new ControllerApprovalBroker({ controllerUrl: apiUrl, waitMs: 2000, logger: h.logger, tokenFile, policyDigest: () => engine.current()?.digest, attestationKeys: verificationKeys });
  keys = verificationKeys;
  const config = loadConfig(
    { PORTCULLIS_BUNDLE: 'agents/shipped', PORTCULLIS_POD_NAMESPACE: 'agents', PORTCULLIS_POD_NAME: 'agent-0', PORTCULLIS_SERVICE_ACCOUNT: 'agent', PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '200' },
    { port: '0' },
  );
  sidecar = buildSidecar(config, { engine, approvals: broker, logger: h.logger });
  await sidecar.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(sidecar.server.address() as AddressInfo).port}`;
});

after(async () => {
  await sidecar?.close();
  await client?.stop();
  await broker?.close();
  await payments?.close();
  await h?.close();
});

const charge = (amount: number): Promise<Response> =>
  fetch(`${base}/tools/payments/v1/charges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount, currency: 'eur' }) });

test('a held call becomes an ActionApproval; `portcullis approve NAME --kube` lets it through', async () => {
  const pending = charge(5000);
  const held: any = await until(async () => (await approvalsIn('agents')).find((a) => a.status?.phase === 'Pending'), 'a pending ActionApproval');
  assert.match(held.spec.summary, /payments POST/);
  assert.match(held.spec.inputHash, /^(sha256:)?[0-9a-f]{64}$/);
  assert.deepEqual(held.spec.agent, { namespace: 'agents', pod: 'agent-0', serviceAccount: 'agent' });
  assert.equal(held.metadata.annotations['portcullis.dev/requested-by'], 'system:serviceaccount:agents:agent');
  assert.ok(held.spec.approvers.length > 0);
  assert.equal(held.spec.policyDigest, client.digest(), 'the approval page shows the digest of the policy that held the call');
  assert.equal(payments.log.filter((a) => a.method === 'POST').length, 0);
  const event = (await h.kube.list('v1', 'Event', 'agents')).find((e) => e.reason === 'ApprovalRequested' && e.involvedObject.name === held.metadata.name)!;
  assert.match(event.message, new RegExp(`portcullis approve ${held.metadata.name} --kube -n agents`));

  // Someone without the verb is refused by the API server's RBAC authorizer, before any webhook.
  const mallory = cli();
  assert.notEqual(await main(['approve', held.metadata.name, '--kube', '--kubeconfig', kubeconfigOf('mallory')], mallory.io), 0);
  assert.match(mallory.out.join(''), /forbidden|403/i);
  assert.doesNotMatch(mallory.out.join(''), /requested approvers/);
  // The same with kubectl --as: the server's own words.
  const verdict = JSON.stringify({ spec: { decision: { verdict: 'Approved', inputHash: held.spec.inputHash, approver: 'mallory' } } });
  const patch = ['patch', 'actionapproval', held.metadata.name, '-n', 'agents', '--type=merge', '-p', verdict];
  const forbidden = await h.cp.kubectl(patch, { as: 'mallory', asGroups: ['visitors'] });
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.stderr, /Error from server \(Forbidden\): .*User "mallory" cannot (get|patch) resource "actionapprovals" in API group "portcullis\.dev" in the namespace "agents"/);
  const outsider = await h.cp.kubectl([...patch.slice(0, -1), verdict.replace('mallory', 'eve')], { as: 'eve', asGroups: ['engineering'] });
  assert.equal(outsider.code, 1);
  assert.match(outsider.stderr, /admission webhook "validate\.actionapprovals\.portcullis\.dev" denied the request: .*eve is not among the requested approvers/);
  // Someone outside the requested approvers, or someone signing as another, is refused by the webhook.
  const eve = cli();
  assert.notEqual(await main(['approve', held.metadata.name, '--kube', '--kubeconfig', kubeconfigOf('eve')], eve.io), 0);
  assert.match(eve.out.join(''), /eve is not among the requested approvers \(group:payments\)/);
  const forger = cli();
  assert.notEqual(await main(['approve', held.metadata.name, '--kube', '--kubeconfig', kubeconfigOf('bob'), '--approver', 'alice'], forger.io), 0);
  assert.match(forger.out.join(''), /decision\.approver must be the user giving the verdict \("bob"\)/);
  // alice is in group payments; the CLI asks the API who she is.
  const { io, out } = cli();
  assert.equal(await main(['approve', held.metadata.name, '--kube', '--kubeconfig', kubeconfigOf('alice')], io), 0, out.join(''));
  assert.match(out.join(''), /approved .* as alice/);
  const res = await pending;
  assert.equal(res.status, 201);
  assert.deepEqual(payments.log.filter((a) => a.method === 'POST').map((a) => JSON.parse(a.body).amount), [5000]);
  const decided = await approval(held.metadata.name);
  assert.equal(decided.spec.decision.inputHash, held.spec.inputHash);
  assert.equal(decided.spec.decision.approver, 'alice');
});

test('`portcullis reject NAME --kube` denies a held call', async () => {
  const pending = charge(7777);
  const held: any = await until(async () => (await approvalsIn('agents')).find((a) => a.status?.phase === 'Pending' && !a.spec.decision), 'a pending ActionApproval');
  const { io: listIo, out: listed } = cli();
  assert.equal(await main(['reject', '--kube', '--kubeconfig', kubeconfigOf('bob')], listIo), 0);
  assert.match(listed.join(''), new RegExp(held.metadata.name));
  const { io, out } = cli();
  assert.equal(await main(['reject', held.metadata.name, '--kube', '--kubeconfig', kubeconfigOf('bob')], io), 0, out.join(''));
  const res = await pending;
  assert.equal(res.status, 403);
  assert.equal(payments.log.filter((a) => a.method === 'POST' && JSON.parse(a.body).amount === 7777).length, 0);
});

function request(expiresInMs: number): ApprovalRequest {
  return {
    id: randomUUID(),
    inputHash: 'a'.repeat(64),
    summary: 'http payments POST /v1/charges',
    action: { type: 'http', tool: 'payments' },
    agent: { namespace: 'agents', pod: 'agent-1', serviceAccount: 'agent', labels: {}, annotations: {} },
    approvers: ['group:payments'],
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
    traceId: '0'.repeat(32),
    reason: 'large charge',
  };
}

test('a verdict naming another input hash approves nothing', async () => {
  const req = request(60_000);
  const verdict = broker.request(req);
  // Settled while the test is still writing to etcd: handled here, asserted below.
  verdict.catch(() => {});
  await until(() => approval(req.id), 'the ActionApproval');
  // Written around the CLI (which always copies the held hash), as a careless script might: the CRD's rule refuses it.
  const ref = { group: 'portcullis.dev', version: 'v1alpha1', plural: 'actionapprovals', kind: 'ActionApproval', namespaced: true };
  const { ClientNodeKubeApi } = await import('../../src/controller/k8s/client-node-kube-api.ts');
  const alice = ClientNodeKubeApi.load(kubeconfigOf('alice'));
  await assert.rejects(
    alice.mergePatch(ref, 'agents', req.id, { spec: { decision: { verdict: 'Approved', inputHash: 'b'.repeat(64), approver: 'alice' } } }),
    (e: any) => /a verdict approves one exact call/.test(e.message),
  );
  // Forced past validation and the webhook (straight into etcd), the sidecar still refuses it.
  await forceDecision(req.id, { verdict: 'Approved', inputHash: 'b'.repeat(64), approver: 'alice' });
  await assert.rejects(verdict, (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_MISMATCH);
  // The real API server re-checks the spec's rules on a status write, so such an object can never be
  // marked Invalid: the controller says so once, as a Warning Event, and does not retry.
  const [refused] = await until(async () => {
    const found = (await h.kube.list('v1', 'Event', 'agents')).filter((e) => e.reason === 'StatusRefused' && e.involvedObject.name === req.id);
    return found.length > 0 ? found : undefined;
  }, 'a StatusRefused event');
  assert.equal(refused!.type, 'Warning');
  assert.match(refused!.message, /^Invalid: the decision names input b{64}/);
  const statusWrites = () => h.cp.auditEvents().filter((e) => e.stage === 'ResponseComplete' && e.verb === 'patch' && e.objectRef?.subresource === 'status' && e.objectRef?.name === req.id).length;
  const tried = statusWrites();
  await h.controllers[0]!.approvals.sweep();
  assert.equal(statusWrites(), tried, 'no retry of a refused status');
});

test('an approval nobody answers expires: the sidecar denies, the object is marked Expired, then cleaned up', async () => {
  const req = request(3000);
  await assert.rejects(broker.request(req), (e) => isPortcullisError(e) && e.code === ErrorCodes.ESCALATION_TIMEOUT);
  await until(async () => (await approval(req.id))?.status?.phase === 'Expired', 'phase Expired');
  const { io, out } = cli();
  assert.notEqual(await main(['approve', req.id, '--kube', '--kubeconfig', kubeconfigOf('alice')], io), 0);
  assert.match(out.join(''), /Expired/);
  await until(async () => !(await approval(req.id)), 'cleanup after the retention');
});

const post = (body: unknown, token?: string): Promise<Response> =>
  fetch(`${apiUrl}/v1/approvals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

test('the approvals API: no token → 401, a token the API server does not know or of another audience → 401', async () => {
  const req = request(60_000);
  const none = await post(req);
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as any).error.code, ErrorCodes.UNAUTHENTICATED);
  assert.equal((await post(req, 'made-up')).status, 401);
  assert.equal((await post(req, await tokenFor('agents', 'agent', h.cp.url))).status, 401);
  assert.equal(await approval(req.id), undefined);
});

test('the approvals API: a token of namespace A asking in namespace B → 403; of B → created, recording the service account', async () => {
  const req = request(60_000);
  const elsewhere = await post(req, await tokenFor('other', 'intruder'));
  assert.equal(elsewhere.status, 403);
  assert.equal(((await elsewhere.json()) as any).error.code, ErrorCodes.FORBIDDEN);
  assert.equal(await approval(req.id), undefined);
  // The service account the request names is replaced by the one the token proves.
  const made = await post({ ...req, agent: { ...req.agent, serviceAccount: 'someone-else' } }, await tokenFor('agents', 'runner'));
  assert.equal(made.status, 201);
  const stored = await approval(req.id);
  assert.equal(stored.spec.agent.serviceAccount, 'runner');
  assert.equal(stored.metadata.annotations['portcullis.dev/requested-by'], 'system:serviceaccount:agents:runner');
});

test('the broker re-reads its token file on every request (the kubelet rotates it)', async () => {
  writeFileSync(tokenFile, 'revoked');
  const req = request(60_000);
  await assert.rejects(broker.request(req), (e) => isPortcullisError(e) && e.code === ErrorCodes.ESCALATION_REJECTED && /401|bearer|token/i.test(e.message));
  writeFileSync(tokenFile, await tokenFor('agents', 'agent'));
  const again = request(60_000);
  const pending = broker.request(again);
  await until(() => approval(again.id), 'the ActionApproval with the rotated token');
  const { io, out } = cli();
  assert.equal(await main(['reject', again.id, '--kube', '--kubeconfig', kubeconfigOf('alice')], io), 0, out.join(''));
  assert.equal((await pending).verdict, 'rejected');
});

test('the approvals API takes a token only from an injected sidecar: one not bound to a pod, or bound to a pod without the injection, is refused (403)', async () => {
  const req = request(60_000);
  // Any pod of the namespace can mount a token for audience portcullis.dev.
  const plain = await podOf('agents', 'agent', false);
  assert.equal(plain.metadata.annotations?.['portcullis.dev/injected'], undefined);
  const fromPlain = await post(req, await boundToken(plain));
  assert.equal(fromPlain.status, 403);
  assert.match(((await fromPlain.json()) as any).error.message, /not a Portcullis sidecar: pod agents\/agent-\d+ was not injected by Portcullis/);
  // A pod that forges the marker and names a container like the sidecar (this namespace is not enforced, so it is admitted).
  const forged = await h.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `forged-${++pods}`, namespace: 'agents', annotations: { 'portcullis.dev/injected': 'agents/shipped;enforce' } },
    spec: {
      serviceAccountName: 'agent',
      initContainers: [{ name: 'portcullis-sidecar', image: 'busybox', restartPolicy: 'Always' }],
      containers: [{ name: 'agent', image: 'ghcr.io/example/agent:1' }],
    },
  });
  assert.equal((await post(req, await boundToken(forged))).status, 403);
  // Not bound to any pod (what `kubectl create token` gives by default).
  const unbound = (await h.cp.kubectlOk(['create', 'token', 'agent', '-n', 'agents', '--audience=portcullis.dev', '--duration=1h'])).trim();
  const fromUnbound = await post(req, unbound);
  assert.equal(fromUnbound.status, 403);
  assert.match(((await fromUnbound.json()) as any).error.message, /not bound to a pod/);
  assert.equal(await approval(req.id), undefined);
  // The injected pod of the same account is accepted.
  assert.equal((await post(req, await tokenFor('agents', 'agent'))).status, 201);
});

test('the verdict long poll: no token → 401, a token of another namespace → 403', async () => {
  const req = request(60_000);
  assert.equal((await post(req, await tokenFor('agents', 'agent'))).status, 201);
  const url = `${apiUrl}/v1/approvals/agents/${req.id}?wait=0s`;
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(url, { headers: { authorization: `Bearer ${await tokenFor('other', 'intruder')}` } })).status, 403);
  const own = await fetch(url, { headers: { authorization: `Bearer ${await tokenFor('agents', 'agent')}` } });
  assert.equal(own.status, 200);
  assert.equal(((await own.json()) as any).phase, 'Pending');
});

test('an approver-role user who is not named cannot widen the approvers or extend the expiry, then decide; widened in etcd, the sidecar still refuses', async () => {
  // Named users: the sidecar can check a name itself (a group's members only the webhook sees).
  const req = { ...request(60_000), approvers: ['user:alice', 'user:bob'] };
  const verdict = broker.request(req);
  verdict.catch(() => {});
  await until(() => approval(req.id), 'the ActionApproval');
  const eve = cli();
  // eve holds the approver ClusterRole (may patch ActionApprovals) but is not in group:payments.
  const widen = await h.cp.kubectl(['patch', 'actionapproval', req.id, '-n', 'agents', '--type=merge', '-p', JSON.stringify({ spec: { approvers: ['group:payments', 'user:eve'] } })], { kubeconfig: kubeconfigOf('eve') });
  assert.notEqual(widen.code, 0);
  assert.match(widen.stderr, /the held call cannot change: only spec\.decision may change/);
  const extend = await h.cp.kubectl(['patch', 'actionapproval', req.id, '-n', 'agents', '--type=merge', '-p', JSON.stringify({ spec: { expiresAt: '2099-01-01T00:00:00Z' } })], { kubeconfig: kubeconfigOf('eve') });
  assert.notEqual(extend.code, 0);
  assert.match(extend.stderr, /the held call cannot change/);
  assert.notEqual(await main(['approve', req.id, '--kube', '--kubeconfig', kubeconfigOf('eve')], eve.io), 0);
  assert.match(eve.out.join(''), /eve is not among the requested approvers/);
  assert.deepEqual((await approval(req.id)).spec.approvers, ['user:alice', 'user:bob']);
  // Past the API server altogether (etcd): approvers widened and eve's verdict written. The sidecar
  // checks the verdict against the approvers it asked for, not against the object.
  const key = `/registry/portcullis.dev/actionapprovals/agents/${req.id}`;
  const stored = JSON.parse((await h.cp.etcdGet(key))!);
  stored.spec.approvers = ['user:eve'];
  stored.spec.decision = { verdict: 'Approved', inputHash: req.inputHash, approver: 'eve' };
  await h.cp.etcdPut(key, JSON.stringify(stored));
  await assert.rejects(verdict, (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_UNATTESTED && /carries no attestation/.test(e.message));
});

/** The ActionApproval of the next held call through the sidecar (none decided yet). */
const nextPending = (): Promise<any> => until(async () => (await approvalsIn('agents')).find((a) => a.status?.phase === 'Pending' && !a.spec.decision && a.spec.agent.pod === 'agent-0'), 'a pending ActionApproval');

test('a member of a group: approver approves: the webhook attests her requested groups (replacing one she sent), the sidecar verifies it, the call runs once', async () => {
  const pending = charge(4242);
  const held = await nextPending();
  assert.deepEqual(held.spec.approvers, ['group:payments']);
  // alice sends a verdict with an attestation of her own making: the mutating webhook replaces it.
  const decision = { verdict: 'Approved', inputHash: held.spec.inputHash, approver: 'alice', attestation: 'made.up.here' };
  // What the API server stored, as it answered the patch (decided approvals are soon cleaned up).
  const stored = (await h.cp.kubectlOk(['patch', 'actionapproval', held.metadata.name, '-n', 'agents', '--type=merge', '-p', JSON.stringify({ spec: { decision } }), '-o', 'json'], { kubeconfig: kubeconfigOf('alice') })).spec.decision;
  const res = await pending;
  assert.equal(res.status, 201, await res.text());
  assert.equal(payments.log.filter((a) => a.method === 'POST' && JSON.parse(a.body).amount === 4242).length, 1, "the upstream's own log: the call ran once");
  const claims = verifyVerdictAttestation(stored.attestation, keys);
  // Only the requested group, not every group the API server gave her (system:authenticated…).
  assert.deepEqual({ ...claims, at: undefined }, { namespace: 'agents', name: held.metadata.name, requestId: held.spec.requestId, inputHash: held.spec.inputHash, verdict: 'Approved', approver: 'alice', groups: ['payments'], at: undefined });
  const audited = h.cp.auditEvents().find((e) => e.stage === 'ResponseComplete' && e.verb === 'patch' && e.objectRef?.name === held.metadata.name && !e.objectRef?.subresource);
  assert.match(JSON.stringify(audited?.annotations ?? {}), /attest\.actionapprovals\.portcullis\.dev/, 'the API server called the mutating webhook');
});

test('a non-member who may patch ActionApprovals is refused by the webhook, with or without an attestation of her own', async () => {
  const req = request(60_000);
  const verdict = broker.request(req);
  verdict.catch(() => {});
  await until(() => approval(req.id), 'the ActionApproval');
  // eve holds the approver ClusterRole, but is in group engineering, not payments.
  for (const extra of [{}, { attestation: 'made.up.here' }]) {
    const decision = { verdict: 'Approved', inputHash: req.inputHash, approver: 'eve', ...extra };
    const r = await h.cp.kubectl(['patch', 'actionapproval', req.id, '-n', 'agents', '--type=merge', '-p', JSON.stringify({ spec: { decision } })], { kubeconfig: kubeconfigOf('eve') });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied the request: .*eve is not among the requested approvers \(group:payments\)/);
  }
  assert.equal((await approval(req.id)).spec.decision, undefined);
  // Decided by a member after all, the call is let through.
  assert.equal(await main(['approve', req.id, '--kube', '--kubeconfig', kubeconfigOf('bob')], cli().io), 0);
  assert.equal((await verdict).approver, 'bob');
});

test('a verdict by a real member written straight into etcd, without an attestation, is refused by the sidecar', async () => {
  const req = request(60_000);
  const verdict = broker.request(req);
  verdict.catch(() => {});
  await until(() => approval(req.id), 'the ActionApproval');
  // alice is in payments and could have approved; but nothing shows the webhook saw her do it.
  await forceDecision(req.id, { verdict: 'Approved', inputHash: req.inputHash, approver: 'alice' });
  await assert.rejects(verdict, (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_UNATTESTED && /carries no attestation/.test(e.message));
});

test('a forged attestation (another key under the controller key ID), or one copied from another approval, is refused by the sidecar', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const other = createBundleSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const req = request(60_000);
  const verdict = broker.request(req);
  verdict.catch(() => {});
  await until(() => approval(req.id), 'the ActionApproval');
  const claims = { namespace: 'agents', name: req.id, requestId: req.id, inputHash: req.inputHash, verdict: 'Approved' as const, approver: 'eve', groups: ['payments'], at: new Date().toISOString() };
  const forged = signVerdictAttestation(claims, { keyId: keys[0]!.keyId, sign: other.sign });
  await forceDecision(req.id, { verdict: 'Approved', inputHash: req.inputHash, approver: 'eve', attestation: forged });
  await assert.rejects(verdict, (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_UNATTESTED && /signature does not verify/.test(e.message));
  // A genuine attestation, of another approval of the same input that bob approved: bound to that one.
  const first = request(60_000);
  const approved = broker.request(first);
  await until(() => approval(first.id), 'the ActionApproval');
  const decision = { verdict: 'Approved', inputHash: first.inputHash, approver: 'bob' };
  const genuine = (await h.cp.kubectlOk(['patch', 'actionapproval', first.id, '-n', 'agents', '--type=merge', '-p', JSON.stringify({ spec: { decision } }), '-o', 'json'], { kubeconfig: kubeconfigOf('bob') })).spec.decision;
  assert.equal((await approved).approver, 'bob');
  const again = request(60_000);
  assert.equal(again.inputHash, first.inputHash);
  const replayed = broker.request(again);
  replayed.catch(() => {});
  await until(() => approval(again.id), 'the ActionApproval');
  await forceDecision(again.id, genuine);
  await assert.rejects(replayed, (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_UNATTESTED && /it attests name/.test(e.message));
});

test('with the validating webhook configuration removed, a non-member verdict is stored but not attested, and the sidecar refuses it', async () => {
  const req = request(60_000);
  const verdict = broker.request(req);
  verdict.catch(() => {});
  await until(() => approval(req.id), 'the ActionApproval');
  const decision = { verdict: 'Approved', inputHash: req.inputHash, approver: 'eve' };
  const stored = await h.withoutValidation(() =>
    h.cp.kubectlOk(['patch', 'actionapproval', req.id, '-n', 'agents', '--type=merge', '-p', JSON.stringify({ spec: { decision } }), '-o', 'json'], { kubeconfig: kubeconfigOf('eve') }),
  );
  assert.equal(stored.spec.decision.approver, 'eve', 'stored: nothing but the validating webhook refused it');
  assert.equal(stored.spec.decision.attestation, undefined, 'the mutating webhook attests only what the verdict rules accept');
  await assert.rejects(verdict, (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_UNATTESTED && /carries no attestation/.test(e.message));
});

test('through the sidecar: a held call whose verdict is written into etcd without an attestation is denied, and never reaches the upstream', async () => {
  const pending = charge(6161);
  const held = await nextPending();
  await forceDecision(held.metadata.name, { verdict: 'Approved', inputHash: held.spec.inputHash, approver: 'alice' });
  const res = await pending;
  const body = await res.text();
  assert.equal(res.status, 403, body);
  assert.match(body, /not attested by the controller's admission webhook: it carries no attestation/);
  assert.equal(JSON.parse(body).error.code, ErrorCodes.APPROVAL_UNATTESTED, 'the broker\'s refusal reaches the agent as it is');
  assert.equal(payments.log.filter((a) => a.method === 'POST' && JSON.parse(a.body).amount === 6161).length, 0, "the upstream's own log: the call never ran");
});
