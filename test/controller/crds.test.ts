/**
 * The CRDs in manifests/crds/ on a real kube-apiserver: it checks that their
 * schemas are structural and compiles their CEL rules when they are applied;
 * on every write it fills in defaults, prunes unknown fields, refuses bad
 * objects with field paths, and evaluates the CEL rules
 * (x-kubernetes-validations), transition rules (oldSelf) included. Everything
 * the controller writes — ActionApprovals, PolicyBundle and ActionApproval
 * status — is stored exactly as it was sent. No webhook is installed here:
 * what is refused, the schema refuses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { controllerKubeconfig, installBase, kubectlApply, manifest } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { KubeRest } from '../support/kube-rest.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import { POLICY_BUNDLES, ACTION_APPROVALS, GROUP, VERSION, type ActionApproval, type PolicyBundle } from '../../src/controller/resources.ts';
import { ClientNodeKubeApi } from '../../src/controller/k8s/client-node-kube-api.ts';
import { PolicyBundleReconciler } from '../../src/controller/bundles/reconciler.ts';
import { BundleStore } from '../../src/controller/bundles/bundle-store.ts';
import { ApprovalService } from '../../src/controller/approvals/approval-service.ts';
import { CallerAuthenticator } from '../../src/controller/approvals/caller-auth.ts';
import { actionApprovalFor } from '../../src/controller/approvals/approval-state.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import type { ApprovalRequest } from '../../src/gate/types.ts';

const crds = [...manifest('manifests/crds/policybundles.portcullis.dev.yaml'), ...manifest('manifests/crds/actionapprovals.portcullis.dev.yaml')];
const H = 'a'.repeat(64);
let cp: ControlPlane;
let kube: KubeRest;
/** The controller's own client: its ServiceAccount token, under the chart's RBAC. */
let controller: ClientNodeKubeApi;
const logger = createLogger({ level: 'silent' });

before(async () => {
  cp = await startControlPlane();
  kube = new KubeRest(cp);
  await installBase(cp);
  await kubectlApply(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'agents' } });
  controller = ClientNodeKubeApi.load(await controllerKubeconfig(cp));
});
after(() => cp?.close());

/** kubectl's message for a write that must be refused (the test fails when it is stored). */
async function refusal(obj: unknown, args: string[] = []): Promise<string> {
  const r = await cp.kubectl([...args, 'apply', '-f', '-', '-o', 'json'], { input: JSON.stringify(obj) });
  assert.notEqual(r.code, 0, `stored: ${r.stdout.slice(0, 500)}`);
  return r.stderr.trim();
}

async function patchRefusal(name: string, patch: unknown): Promise<string> {
  const r = await cp.kubectl(['patch', 'actionapproval', name, '-n', 'agents', '--type=merge', '-p', JSON.stringify(patch), '-o', 'json']);
  assert.notEqual(r.code, 0, `patched: ${r.stdout.slice(0, 500)}`);
  return r.stderr.trim();
}

function approval(name: string, spec: Partial<ActionApproval['spec']> = {}): ActionApproval {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'ActionApproval',
    metadata: { name, namespace: 'agents' },
    spec: {
      inputHash: H,
      summary: 'http POST api.example/v1/charges',
      action: { type: 'http', tool: 'payments' },
      agent: { namespace: 'agents', pod: 'agent-0', serviceAccount: 'agent' },
      approvers: ['group:payments'],
      expiresAt: '2030-01-01T00:00:00Z',
      ...spec,
    },
  };
}

test('the CRDs name the group, version and kinds the controller uses, with a status subresource and printer columns', () => {
  for (const ref of [POLICY_BUNDLES, ACTION_APPROVALS]) {
    const crd = crds.find((c) => c.spec.names.plural === ref.plural)!;
    assert.equal(crd.metadata.name, `${ref.plural}.${GROUP}`);
    assert.equal(crd.spec.names.kind, ref.kind);
    const v = crd.spec.versions.find((x: any) => x.name === VERSION);
    assert.ok(v.served && v.storage);
    assert.deepEqual(v.subresources, { status: {} });
    assert.ok(v.additionalPrinterColumns.some((c: any) => c.name === 'Age'));
    assert.equal(v.schema.openAPIV3Schema.type, 'object');
  }
});

test('the API server accepts both CRDs as structural, with no conflicts, and serves them', async () => {
  for (const ref of [POLICY_BUNDLES, ACTION_APPROVALS]) {
    const crd = await kube.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, `${ref.plural}.${GROUP}`);
    const conditions = Object.fromEntries(crd.status.conditions.map((c: any) => [c.type, c.status]));
    assert.deepEqual(conditions, { NamesAccepted: 'True', Established: 'True' }, JSON.stringify(crd.status.conditions));
    assert.deepEqual(crd.status.acceptedNames.shortNames, ref === POLICY_BUNDLES ? ['pb'] : ['aa']);
  }
});

test('a PolicyBundle gets its defaults', async () => {
  const pb = policyBundle('defaults', 'agents');
  delete pb.spec.entrypoint;
  delete pb.spec.mode;
  const stored = await kubectlApply(cp, pb);
  assert.equal(stored.spec.entrypoint, 'portcullis/decision');
  assert.equal(stored.spec.mode, 'enforce');
  assert.deepEqual(stored.spec.modules, pb.spec.modules);
  assert.equal(stored.metadata.generation, 1);
});

test('bad PolicyBundles are refused with the field that is wrong', async () => {
  const mode = policyBundle('bad-mode', 'agents');
  (mode.spec as any).mode = 'audit';
  assert.match(await refusal(mode), /spec\.mode: Unsupported value: "audit": supported values: "enforce", "observe"/);
  const noSource = policyBundle('bad-source', 'agents');
  noSource.spec.modules = [{ path: 'x.rego' } as any];
  assert.match(await refusal(noSource), /spec\.modules\[0\]\.source: Required value/);
  const url = policyBundle('bad-url', 'agents');
  url.spec.tools = [{ name: 'fs', kind: 'mcp', url: 'ftp://x' }];
  assert.match(await refusal(url), /spec\.tools\[0\]\.url: Invalid value: "ftp:\/\/x": spec\.tools\[0\]\.url in body should match '\^https\?:\/\/'/);
  const entrypoint = policyBundle('bad-entrypoint', 'agents');
  entrypoint.spec.entrypoint = 'portcullis.decision';
  assert.match(await refusal(entrypoint), /spec\.entrypoint: Invalid value: "portcullis\.decision"/);
  const toolName = policyBundle('bad-tool-name', 'agents');
  toolName.spec.tools = [{ name: 'File System', kind: 'mcp', url: 'http://fs' }];
  assert.match(await refusal(toolName), /spec\.tools\[0\]\.name: Invalid value: "File System"/);
});

test('list-map keys: two modules with one path, or two tools with one name, are refused', async () => {
  const modules = policyBundle('dup-modules', 'agents');
  modules.spec.modules = [modules.spec.modules![0]!, { ...modules.spec.modules![0]!, source: 'package other' }];
  assert.match(await refusal(modules), /spec\.modules\[1\]: Duplicate value: \{"path":"decision\.rego"\}/);
  const tools = policyBundle('dup-tools', 'agents');
  tools.spec.tools = [{ name: 'fs', kind: 'mcp', url: 'http://a' }, { name: 'fs', kind: 'http', url: 'http://b' }];
  assert.match(await refusal(tools), /spec\.tools\[1\]: Duplicate value: \{"name":"fs"\}/);
  const tests = policyBundle('dup-tests', 'agents');
  tests.spec.tests = [tests.spec.tests![0]!, tests.spec.tests![0]!];
  assert.match(await refusal(tests), /spec\.tests\[1\]: Duplicate value: \{"name":"allowed method"\}/);
});

test('CEL: a PolicyBundle needs Rego modules or a wasm module', async () => {
  const none = policyBundle('no-modules', 'agents');
  delete none.spec.modules;
  assert.match(await refusal(none), /spec: Invalid value: .*a bundle needs Rego modules or a prebuilt wasm module/);
  const empty = policyBundle('empty-modules', 'agents');
  empty.spec.modules = [];
  assert.match(await refusal(empty), /a bundle needs Rego modules or a prebuilt wasm module/);
  const wasm = policyBundle('wasm-only', 'agents');
  delete wasm.spec.modules;
  wasm.spec.wasm = Buffer.from('\0asm\x01\0\0\0').toString('base64');
  assert.equal((await kubectlApply(cp, wasm)).spec.wasm, wasm.spec.wasm);
  const notBase64 = policyBundle('wasm-not-base64', 'agents');
  notBase64.spec.wasm = 'not base64!';
  assert.match(await refusal(notBase64), /spec\.wasm: Invalid value: .*must be of type byte/);
});

test('unknown fields: kubectl refuses them (strict field validation); a client that does not ask has them dropped', async () => {
  const pb = policyBundle('unknown-field', 'agents');
  (pb.spec as any).modes = 'observe';
  assert.match(await refusal(pb), /strict decoding error: unknown field "spec\.modes"/);
  const stored = await kube.create(pb);
  assert.equal(stored.spec.modes, undefined, 'pruned');
  assert.equal(stored.spec.mode, 'enforce');
});

test('an ActionApproval as the controller creates it is stored exactly as sent', async () => {
  const req: ApprovalRequest = {
    id: 'req-7',
    inputHash: `sha256:${'b'.repeat(64)}`,
    summary: 'mcp fs write_file /prod/config.yaml',
    action: {
      type: 'mcp',
      tool: 'fs',
      mcp: { server: 'fs', method: 'tools/call', name: 'write_file', arguments: { path: '/prod/config.yaml', mode: 0o644, ratio: 0.25, tags: [], meta: {}, gone: null }, id: null },
    },
    // A pod name longer than a label value may be (63), with a dash where it is cut.
    agent: { namespace: 'agents', pod: `${'research-agent-'.repeat(4)}ab-7d9f8b6c5d-x2x9z`, serviceAccount: 'agent', labels: {}, annotations: {} },
    approvers: ['group:payments', 'user:carol'],
    expiresAt: '2030-01-01T00:05:00.123Z',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    reason: 'writes under /prod need a human',
  };
  const sent = actionApprovalFor(req, 'agents');
  const made = await controller.create(ACTION_APPROVALS, sent);
  const stored = await kube.get(`${GROUP}/${VERSION}`, 'ActionApproval', 'agents', made.metadata.name!);
  assert.deepEqual(stored.spec, JSON.parse(JSON.stringify(sent.spec)));
  assert.deepEqual(stored.metadata.labels, sent.metadata.labels);
  assert.match(stored.metadata.labels['portcullis.dev/pod'], /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
});

test('an ActionApproval needs its input hash in the right form', async () => {
  assert.match(await refusal(approval('bad-hash', { inputHash: 'nothex' })), /spec\.inputHash: Invalid value: "nothex": spec\.inputHash in body should match/);
  assert.match(await refusal(approval('bad-expiry', { expiresAt: 'tomorrow' })), /spec\.expiresAt: Invalid value: "tomorrow": spec\.expiresAt in body must be of type date-time/);
  const verdict = await refusal(approval('bad-verdict', { decision: { verdict: 'Maybe' as any, inputHash: H, approver: 'alice' } }));
  assert.match(verdict, /spec\.decision\.verdict: Unsupported value: "Maybe": supported values: "Approved", "Rejected"/);
  assert.ok(await kubectlApply(cp, approval('good-hash')));
  assert.ok(await kubectlApply(cp, approval('prefixed-hash', { inputHash: `sha256:${H}` })));
});

test('CEL: decision.inputHash must equal spec.inputHash, when created and when decided', async () => {
  const other = 'b'.repeat(64);
  const created = await refusal(approval('decided-other', { decision: { verdict: 'Approved', inputHash: other, approver: 'alice' } }));
  assert.match(created, /spec: Invalid value: .*decision\.inputHash must equal spec\.inputHash: a verdict approves one exact call/);
  await kubectlApply(cp, approval('to-decide'));
  const decided = await patchRefusal('to-decide', { spec: { decision: { verdict: 'Approved', inputHash: other, approver: 'alice' } } });
  assert.match(decided, /decision\.inputHash must equal spec\.inputHash/);
  assert.equal((await kube.get(`${GROUP}/${VERSION}`, 'ActionApproval', 'agents', 'to-decide')).spec.decision, undefined);
});

test('CEL: the held call is immutable — inputHash, action, and everything else but the decision', async () => {
  await kubectlApply(cp, approval('held', { traceId: 't1' }));
  assert.match(await patchRefusal('held', { spec: { inputHash: 'c'.repeat(64) } }), /spec\.inputHash: Invalid value: "c{64}": inputHash is immutable/);
  assert.match(await patchRefusal('held', { spec: { action: { type: 'http', tool: 'other' } } }), /spec\.action: Invalid value: .*action is immutable/);
  // Widening the approvers, or extending the deadline, would let someone else decide, or decide later.
  for (const change of [{ approvers: ['user:mallory'] }, { expiresAt: '2031-01-01T00:00:00Z' }, { summary: 'harmless' }, { agent: { namespace: 'agents', pod: 'other' } }, { traceId: null }, { reason: 'added' }]) {
    assert.match(await patchRefusal('held', { spec: change }), /only spec\.decision may change/, JSON.stringify(change));
  }
});

test('CEL: a decision cannot be changed or removed once set', async () => {
  await kubectlApply(cp, approval('final', { decision: { verdict: 'Approved', inputHash: H, approver: 'alice' } }));
  assert.match(await patchRefusal('final', { spec: { decision: { verdict: 'Rejected' } } }), /spec\.decision: Invalid value: .*a decision cannot be changed/);
  assert.match(await patchRefusal('final', { spec: { decision: { comment: 'afterthought' } } }), /a decision cannot be changed/);
  assert.match(await patchRefusal('final', { spec: { decision: null } }), /a decision cannot be removed/);
  const stored = await kube.get(`${GROUP}/${VERSION}`, 'ActionApproval', 'agents', 'final');
  assert.deepEqual(stored.spec.decision, { verdict: 'Approved', inputHash: H, approver: 'alice' });
});

test('status written by the controller survives pruning: PolicyBundle', async () => {
  const sent: unknown[] = [];
  const recording = Object.create(controller) as ClientNodeKubeApi;
  recording.patchStatus = (ref, ns, name, status) => (sent.push(status), controller.patchStatus(ref, ns, name, status));
  const reconciler = new PolicyBundleReconciler({ kube: recording, compiler: new PortcullisCompiler(), store: new BundleStore(), logger, isLeader: () => true });
  for (const [name, opts] of [['ready', {}], ['failing-tests', { failingTest: true }]] as const) {
    await kubectlApply(cp, policyBundle(name, 'agents', opts));
    // What the controller's informer would hand over (it may list and watch, not get).
    reconciler.upsert((await kube.get(`${GROUP}/${VERSION}`, 'PolicyBundle', 'agents', name)) as PolicyBundle);
    await reconciler.idle();
    const stored = await kube.get(`${GROUP}/${VERSION}`, 'PolicyBundle', 'agents', name);
    assert.deepEqual(stored.status, sent.at(-1), `${name}: what the API server kept is what the controller wrote`);
  }
  const ready = await kube.get(`${GROUP}/${VERSION}`, 'PolicyBundle', 'agents', 'ready');
  assert.deepEqual(ready.status.conditions.map((c: any) => [c.type, c.status, c.observedGeneration]), [['Compiled', 'True', 1], ['TestsPassed', 'True', 1], ['Ready', 'True', 1]]);
  assert.match(ready.status.servingDigest, /^sha256:[0-9a-f]{64}$/);
  const failing = await kube.get(`${GROUP}/${VERSION}`, 'PolicyBundle', 'agents', 'failing-tests');
  assert.equal(failing.status.conditions.find((c: any) => c.type === 'Ready').reason, 'TestsFailed');
});

test('status written by the controller survives pruning: ActionApproval', async () => {
  const sent: unknown[] = [];
  const recording = Object.create(controller) as ClientNodeKubeApi;
  recording.patchStatus = (ref, ns, name, status) => (sent.push(status), controller.patchStatus(ref, ns, name, status));
  const service = new ApprovalService({ kube: recording, logger, isLeader: () => true, authenticator: new CallerAuthenticator({ kube: controller, sidecarImage: 'ghcr.io/portcullis/portcullis:0.1.0' }) });
  await kubectlApply(cp, approval('status', { decision: { verdict: 'Rejected', inputHash: H, approver: 'carol', at: '2026-01-01T00:00:00Z', comment: 'no' } }));
  service.upsert((await controller.get<ActionApproval>(ACTION_APPROVALS, 'agents', 'status'))!);
  const stored = await until(async () => (await kube.get(`${GROUP}/${VERSION}`, 'ActionApproval', 'agents', 'status')).status, 'the status write');
  assert.equal(stored.phase, 'Rejected');
  assert.deepEqual(stored, sent[0]);
});

test('printer columns: kubectl shows mode, digest and readiness of bundles; phase, pod and expiry of approvals', async () => {
  const pbs = (await cp.kubectlOk(['get', 'policybundles', '-n', 'agents', '-o', 'wide'])) as string;
  const [header, ...rows] = pbs.trim().split('\n').map((l) => l.trim().split(/\s+/));
  assert.deepEqual(header, ['NAME', 'MODE', 'DIGEST', 'TESTS', 'READY', 'REASON', 'AGE']);
  const ready = rows.find((r) => r[0] === 'ready')!;
  assert.deepEqual(ready.slice(1, 6), ['enforce', (await kube.get(`${GROUP}/${VERSION}`, 'PolicyBundle', 'agents', 'ready')).status.servingDigest, '2/2', 'True', 'Published']);
  const aas = (await cp.kubectlOk(['get', 'aa', '-n', 'agents', 'status', '-o', 'wide'])) as string;
  const [aHeader, row] = aas.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
  assert.deepEqual(aHeader, ['NAME', 'PHASE', 'SUMMARY', 'POD', 'APPROVERS', 'EXPIRES', 'AGE']);
  assert.deepEqual(row!.slice(0, 6), ['status', 'Rejected', 'http POST api.example/v1/charges', 'agent-0', '["group:payments"]', '2030-01-01T00:00:00Z']);
});
