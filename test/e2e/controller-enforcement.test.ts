/**
 * Enforcement belongs to the namespace: on a real kube-apiserver, with the
 * chart's webhooks and ValidatingAdmissionPolicy installed as an operator
 * installs them, every way a workload could start without the gate in a
 * namespace labelled portcullis.dev/injection=enabled is refused — by the
 * injection webhook on the pod as submitted, and by the API server's own CEL
 * policy on the pod as it would be stored — and a pod's annotations only
 * choose within what the namespace's (platform-owned) annotations allow. The
 * namespace admin's RBAC cannot change those.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';

let h: Harness;
let pods = 0;
const ROOT = join(import.meta.dirname, '..', '..');

function pod(namespace: string, o: { annotations?: Record<string, string>; labels?: Record<string, string>; spec?: Record<string, unknown>; container?: Record<string, unknown> } = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `agent-${++pods}`, namespace, ...(o.annotations ? { annotations: o.annotations } : {}), ...(o.labels ? { labels: o.labels } : {}) },
    spec: { containers: [{ name: 'agent', image: 'ghcr.io/example/agent:1', ...o.container }], ...o.spec },
  };
}

async function namespaceWithAccount(name: string, labels?: Record<string, string>, annotations?: Record<string, string>): Promise<void> {
  await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) } });
  await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
}

const refused = (p: any, pattern: RegExp) => assert.rejects(h.apply(p), (e: any) => pattern.test(e.message) || assert.fail(`refused, but not for the expected reason: ${e.message}`));
const sidecarEnv = (stored: any): Record<string, string> => Object.fromEntries(stored.spec.initContainers[1].env.map((e: any) => [e.name, e.value]));

before(async () => {
  h = await startHarness();
  await h.cp.kubectlOk(['apply', '-f', join(ROOT, 'manifests/controller/enforcement-policy.yaml')]);
  await namespaceWithAccount('enforced', { 'portcullis.dev/injection': 'enabled' });
  await namespaceWithAccount('platform');
  await namespaceWithAccount('open');
  await namespaceWithAccount('curated', { 'portcullis.dev/injection': 'enabled' }, { 'portcullis.dev/policies': 'platform/baseline, own', 'portcullis.dev/modes': 'enforce,observe' });
  // The CEL policies are enforced once the API server has loaded them: wait until each refuses.
  await until(async () => {
    const r = await h.cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod('enforced', { container: { securityContext: { privileged: true } } })) });
    return r.code !== 0 && /ValidatingAdmissionPolicy/.test(r.stderr);
  }, 'the pod policy to be loaded', 30_000);
  // A user RBAC lets edit namespaces, which the namespace policy then refuses.
  await h.apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'namespace-editor' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'patch'] }] });
  await h.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'namespace-editor' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'namespace-editor' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'namespace-editor' }],
  });
  await until(async () => {
    const r = await h.cp.kubectl(['label', '--dry-run=server', 'namespace', 'open', 'portcullis.dev/injection=disabled'], { as: 'namespace-editor' });
    return /namespaceenforcements/.test(r.stderr);
  }, 'the namespace policy to be loaded', 30_000);
});

after(() => h?.close());

test('an enforced namespace injects every pod, pinned to enforce mode and to a bundle of its own namespace', async () => {
  const stored = await h.apply(pod('enforced'));
  assert.equal(stored.spec.initContainers[1].name, 'portcullis-sidecar');
  const env = sidecarEnv(stored);
  assert.equal(env.PORTCULLIS_BUNDLE, 'enforced/default');
  // Pinned: a PolicyBundle's spec.mode (editable by the namespace's policy authors) cannot turn it to observe.
  assert.equal(env.PORTCULLIS_MODE, 'enforce');
  assert.equal(stored.metadata.annotations['portcullis.dev/injected'], 'enforced/default;enforce');
});

test('bypass: portcullis.dev/inject "false" (annotation or label) is refused', async () => {
  await refused(pod('enforced', { annotations: { 'portcullis.dev/inject': 'false' } }), /denied the request: namespace enforced is enforced by Portcullis .*portcullis\.dev\/inject=false: pods cannot opt out/);
  await refused(pod('enforced', { labels: { 'portcullis.dev/inject': 'false' } }), /pods cannot opt out/);
});

test('bypass: a forged portcullis.dev/injected annotation is refused', async () => {
  await refused(pod('enforced', { annotations: { 'portcullis.dev/injected': 'enforced/default;enforce' } }), /annotation portcullis\.dev\/injected is set only by Portcullis's injection/);
});

test('bypass: a container named like the sidecar (as a container or an init container) is refused', async () => {
  const asContainer = pod('enforced');
  asContainer.spec.containers.push({ name: 'portcullis-sidecar', image: 'busybox' });
  await refused(asContainer, /container name portcullis-sidecar is reserved/);
  await refused(pod('enforced', { spec: { initContainers: [{ name: 'portcullis-sidecar', image: 'busybox', restartPolicy: 'Always' }] } }), /container name portcullis-sidecar is reserved/);
});

test('bypass: hostNetwork is refused', async () => {
  await refused(pod('enforced', { spec: { hostNetwork: true } }), /hostNetwork: a pod on the node network would be outside the gate/);
});

test('bypass: a pod choosing observe mode, or another namespace\'s PolicyBundle, is refused', async () => {
  await refused(pod('enforced', { annotations: { 'portcullis.dev/mode': 'observe' } }), /portcullis\.dev\/mode="observe": namespace enforced allows only enforce/);
  await refused(pod('enforced', { annotations: { 'portcullis.dev/policy': 'platform/permissive' } }), /PolicyBundle platform\/permissive is in another namespace/);
  // Outside enforced namespaces too: a pod cannot borrow another namespace's bundle.
  await refused(pod('open', { annotations: { 'portcullis.dev/inject': 'true', 'portcullis.dev/policy': 'platform/permissive' } }), /PolicyBundle platform\/permissive is in another namespace/);
});

test('the platform chooses what pods may pick: the namespace annotations allow a bundle elsewhere and observe mode', async () => {
  const first = await h.apply(pod('curated'));
  assert.equal(sidecarEnv(first).PORTCULLIS_BUNDLE, 'platform/baseline', 'the first listed bundle is the default');
  assert.equal(sidecarEnv(first).PORTCULLIS_MODE, undefined, 'observe allowed: the bundle\'s spec.mode decides');
  const own = await h.apply(pod('curated', { annotations: { 'portcullis.dev/policy': 'own', 'portcullis.dev/mode': 'observe' } }));
  assert.equal(sidecarEnv(own).PORTCULLIS_BUNDLE, 'curated/own');
  assert.equal(sidecarEnv(own).PORTCULLIS_MODE, 'observe');
  await refused(pod('curated', { annotations: { 'portcullis.dev/policy': 'other' } }), /PolicyBundle curated\/other is not one namespace curated allows \(portcullis\.dev\/policies: platform\/baseline, curated\/own\)/);
});

test('bypass: an agent container that is privileged, adds NET_ADMIN or NET_RAW, or runs as the sidecar\'s UID is refused by the API server\'s policy', async () => {
  const vap = /ValidatingAdmissionPolicy 'portcullis-enforcement' with binding 'portcullis-enforcement' denied request/;
  for (const securityContext of [{ privileged: true }, { capabilities: { add: ['NET_ADMIN'] } }, { capabilities: { add: ['NET_RAW'] } }]) {
    await refused(pod('enforced', { container: { securityContext } }), vap);
  }
  await refused(pod('enforced', { container: { securityContext: { runAsUser: 65532 } } }), /may not run as user 65532, the Portcullis sidecar's/);
  // Inherited from the pod's securityContext counts the same.
  await refused(pod('enforced', { spec: { securityContext: { runAsUser: 65532 } } }), /may not run as user 65532/);
  const agentInit = pod('enforced', { spec: { initContainers: [{ name: 'setup', image: 'busybox', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] } });
  await refused(agentInit, /may not be privileged or add NET_ADMIN or NET_RAW/);
  // An ordinary agent with its own user is admitted.
  assert.ok(await h.apply(pod('enforced', { container: { securityContext: { runAsUser: 1000, capabilities: { drop: ['ALL'] } } } })));
});

test('bypass: an ephemeral container added later with NET_ADMIN is refused', async () => {
  const stored = await h.apply(pod('enforced'));
  const patch = JSON.stringify({ spec: { ephemeralContainers: [{ name: 'debug', image: 'busybox', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] } });
  const r = await h.cp.kubectl(['patch', 'pod', stored.metadata.name, '-n', 'enforced', '--subresource=ephemeralcontainers', '--type=strategic', '-p', patch]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ephemeral container .* may not .* add NET_ADMIN/);
});

test('the namespace admin cannot change what the platform set: namespace labels and annotations, the policy, its binding', async () => {
  // Every verb on every resource inside the namespace: more than `admin` grants (whose
  // aggregation needs a controller-manager this control plane does not run).
  await h.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'everything', namespace: 'enforced' },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  });
  await h.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'team-admin', namespace: 'enforced' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'everything' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'team-lead' }],
  });
  const asTeam = { as: 'team-lead' };
  for (const args of [
    ['label', 'namespace', 'enforced', 'portcullis.dev/injection-'],
    ['annotate', 'namespace', 'enforced', 'portcullis.dev/modes=enforce,observe'],
    ['delete', 'validatingadmissionpolicybinding', 'portcullis-enforcement'],
    ['delete', 'mutatingwebhookconfiguration', 'portcullis-sidecar-injector'],
  ]) {
    const r = await h.cp.kubectl(args, asTeam);
    assert.notEqual(r.code, 0, `team-lead could ${args.join(' ')}`);
    assert.match(r.stderr, /forbidden/i);
  }
  // The wildcard Role does grant the namespace object itself: it is the admission policy that refuses.
  const relabel = await h.cp.kubectl(['label', 'namespace', 'enforced', 'portcullis.dev/injection-'], asTeam);
  assert.match(relabel.stderr, /changing them needs update on portcullis\.dev\/namespaceenforcements cluster-wide .* which team-lead lacks/);
  // Labels that are not Portcullis's stay the namespace's own business.
  await h.cp.kubectlOk(['label', 'namespace', 'enforced', 'team=payments'], asTeam);
  // The platform team, with the chart's ClusterRole, may.
  await h.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'platform-enforcement' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'portcullis-enforcement-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'platform-lead' }],
  });
  await h.cp.kubectlOk(['annotate', 'namespace', 'curated', 'portcullis.dev/modes=enforce', '--overwrite'], { as: 'platform-lead' });
  // The same user may create pods there: what is refused is the weakening, not the work.
  assert.ok(await h.apply(pod('enforced'), asTeam));
});

// Last: it removes the injection webhook.
test('with the injection webhook gone, the API server\'s policy alone still refuses pods without the sidecar', async () => {
  await h.kube.delete('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, 'portcullis-sidecar-injector');
  await refused(pod('enforced'), /must carry the portcullis-sidecar its injection webhook adds/);
  // A pod that copies an injected one by hand, marker and all, but with its own "sidecar" image.
  const forged = pod('enforced', { annotations: { 'portcullis.dev/injected': 'enforced/default;enforce' }, spec: { initContainers: [{ name: 'portcullis-sidecar', image: 'busybox', restartPolicy: 'Always' }] } });
  await refused(forged, /must carry the portcullis-sidecar/);
  // Namespaces that are not enforced are not the policy's business.
  assert.ok(await h.apply(pod('open')));
});
