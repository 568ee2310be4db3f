/**
 * Least privilege for the controller, proven by the real RBAC authorizer: the
 * ServiceAccount, ClusterRole, Role and bindings of manifests/controller/
 * rbac.yaml applied to a kube-apiserver, then `kubectl auth can-i … --as` the
 * controller's ServiceAccount for each call it makes (NEEDED: add a line when
 * the controller starts making a new kind of call) and for things it must
 * never be able to do; and the rules the API server reports for it
 * (SelfSubjectRulesReview) grant nothing NEEDED does not name.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { installBase, manifest } from '../support/controller-harness.ts';

const NS = 'portcullis-system';
const SA = `system:serviceaccount:${NS}:portcullis-controller`;

interface Call {
  verb: string;
  /** plural.group, as kubectl names it ("events" for the core group). */
  resource: string;
  subresource?: string;
  name?: string;
  /** Where: every namespace at once (`-A`), the controller's own namespace, or another one. */
  where: 'all' | 'own' | 'other';
}

/** Every call the controller makes, where it makes it. */
const NEEDED: Call[] = [
  { verb: 'list', resource: 'policybundles.portcullis.dev', where: 'all' },
  { verb: 'watch', resource: 'policybundles.portcullis.dev', where: 'all' },
  { verb: 'patch', resource: 'policybundles.portcullis.dev', subresource: 'status', where: 'all' },
  { verb: 'list', resource: 'actionapprovals.portcullis.dev', where: 'all' },
  { verb: 'watch', resource: 'actionapprovals.portcullis.dev', where: 'all' },
  { verb: 'get', resource: 'actionapprovals.portcullis.dev', where: 'all' },
  { verb: 'create', resource: 'actionapprovals.portcullis.dev', where: 'all' },
  { verb: 'delete', resource: 'actionapprovals.portcullis.dev', where: 'all' },
  { verb: 'patch', resource: 'actionapprovals.portcullis.dev', subresource: 'status', where: 'all' },
  { verb: 'list', resource: 'namespaces', where: 'all' },
  { verb: 'watch', resource: 'namespaces', where: 'all' },
  { verb: 'create', resource: 'events', where: 'all' },
  { verb: 'create', resource: 'tokenreviews.authentication.k8s.io', where: 'all' },
  // The pod an approvals caller's token is bound to (read by name; list and watch are refused).
  { verb: 'get', resource: 'pods', where: 'all' },
  { verb: 'get', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-sidecar-injector', where: 'all' },
  { verb: 'patch', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-sidecar-injector', where: 'all' },
  { verb: 'list', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-sidecar-injector', where: 'all' },
  { verb: 'watch', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-sidecar-injector', where: 'all' },
  { verb: 'list', resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-policybundle-validator', where: 'all' },
  { verb: 'watch', resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-policybundle-validator', where: 'all' },
  { verb: 'get', resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-policybundle-validator', where: 'all' },
  { verb: 'patch', resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-policybundle-validator', where: 'all' },
  { verb: 'create', resource: 'leases.coordination.k8s.io', where: 'own' },
  { verb: 'get', resource: 'leases.coordination.k8s.io', name: 'portcullis-controller', where: 'own' },
  { verb: 'update', resource: 'leases.coordination.k8s.io', name: 'portcullis-controller', where: 'own' },
  { verb: 'create', resource: 'secrets', where: 'own' },
  { verb: 'get', resource: 'secrets', name: 'portcullis-webhook-tls', where: 'own' },
  // Renewal replaces it; every replica watches it (a name field selector).
  { verb: 'update', resource: 'secrets', name: 'portcullis-webhook-tls', where: 'own' },
  { verb: 'list', resource: 'secrets', name: 'portcullis-webhook-tls', where: 'own' },
  { verb: 'watch', resource: 'secrets', name: 'portcullis-webhook-tls', where: 'own' },
  // The bundle signing key: made when missing (create above), then read and watched by name.
  { verb: 'get', resource: 'secrets', name: 'portcullis-bundle-signing', where: 'own' },
  { verb: 'list', resource: 'secrets', name: 'portcullis-bundle-signing', where: 'own' },
  { verb: 'watch', resource: 'secrets', name: 'portcullis-bundle-signing', where: 'own' },
  { verb: 'get', resource: 'configmaps', where: 'own' },
  { verb: 'create', resource: 'configmaps', where: 'own' },
  { verb: 'update', resource: 'configmaps', where: 'own' },
  { verb: 'delete', resource: 'configmaps', where: 'own' },
];

/** What a controller bug, or an attacker holding its token, must not be able to do. */
const FORBIDDEN: (Call & { why: string })[] = [
  { verb: '*', resource: '*', where: 'all', why: 'no wildcard' },
  { verb: 'get', resource: 'secrets', where: 'all', why: 'Secrets cluster-wide' },
  { verb: 'list', resource: 'secrets', where: 'all', why: 'Secrets cluster-wide' },
  { verb: 'list', resource: 'secrets', where: 'own', why: 'listing Secrets reads them all' },
  { verb: 'get', resource: 'secrets', name: 'other', where: 'own', why: 'other Secrets of its namespace' },
  { verb: 'update', resource: 'secrets', name: 'other', where: 'own', why: 'rewriting other Secrets of its namespace' },
  { verb: 'update', resource: 'secrets', name: 'portcullis-bundle-signing', where: 'own', why: 'replacing the bundle signing key (the platform rotates it)' },
  { verb: 'watch', resource: 'secrets', where: 'own', why: 'watching Secrets reads them all' },
  { verb: 'create', resource: 'secrets', where: 'other', why: 'Secrets elsewhere' },
  { verb: 'create', resource: 'pods', where: 'all', why: 'pods' },
  { verb: 'list', resource: 'pods', where: 'all', why: 'pods are read one by one, by name' },
  { verb: 'watch', resource: 'pods', where: 'all', why: 'pods are read one by one, by name' },
  { verb: 'list', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io', where: 'all', why: 'other webhooks' },
  { verb: 'create', resource: 'pods', subresource: 'exec', where: 'all', why: 'exec into pods' },
  { verb: 'create', resource: 'serviceaccounts', subresource: 'token', where: 'all', why: 'minting tokens' },
  { verb: 'create', resource: 'policybundles.portcullis.dev', where: 'all', why: 'policies are written by people' },
  { verb: 'update', resource: 'policybundles.portcullis.dev', where: 'all', why: 'policies are written by people' },
  { verb: 'patch', resource: 'policybundles.portcullis.dev', where: 'all', why: 'policies are written by people' },
  { verb: 'delete', resource: 'policybundles.portcullis.dev', where: 'all', why: 'policies are written by people' },
  { verb: 'patch', resource: 'actionapprovals.portcullis.dev', where: 'all', why: 'a verdict is a human’s' },
  { verb: 'update', resource: 'actionapprovals.portcullis.dev', where: 'all', why: 'a verdict is a human’s' },
  { verb: 'update', resource: 'actionapprovals.portcullis.dev', subresource: 'status', where: 'all', why: 'status is patched, never replaced' },
  { verb: 'create', resource: 'leases.coordination.k8s.io', where: 'other', why: 'Leases elsewhere' },
  { verb: 'update', resource: 'leases.coordination.k8s.io', name: 'other', where: 'own', why: 'other Leases of its namespace' },
  { verb: 'delete', resource: 'leases.coordination.k8s.io', name: 'portcullis-controller', where: 'own', why: 'its Lease is released, not deleted' },
  { verb: 'get', resource: 'configmaps', where: 'other', why: 'ConfigMaps elsewhere' },
  { verb: 'list', resource: 'configmaps', where: 'own', why: 'ConfigMaps are read by name' },
  { verb: 'patch', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io', name: 'other', where: 'all', why: 'other webhooks' },
  { verb: 'create', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io', where: 'all', why: 'new webhooks' },
  { verb: 'delete', resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io', name: 'portcullis-policybundle-validator', where: 'all', why: 'turning validation off' },
  { verb: 'create', resource: 'namespaces', where: 'all', why: 'namespaces' },
  { verb: 'patch', resource: 'namespaces', where: 'all', why: 'namespace labels decide injection' },
  { verb: 'create', resource: 'clusterrolebindings.rbac.authorization.k8s.io', where: 'all', why: 'granting itself more' },
  { verb: 'escalate', resource: 'clusterroles.rbac.authorization.k8s.io', where: 'all', why: 'granting itself more' },
  { verb: 'bind', resource: 'clusterroles.rbac.authorization.k8s.io', where: 'all', why: 'granting itself more' },
  { verb: 'impersonate', resource: 'users', where: 'all', why: 'acting as someone else' },
  { verb: 'impersonate', resource: 'serviceaccounts', where: 'all', why: 'acting as someone else' },
  { verb: 'create', resource: 'subjectaccessreviews.authorization.k8s.io', where: 'all', why: 'probing others’ rights' },
  { verb: 'update', resource: 'customresourcedefinitions.apiextensions.k8s.io', where: 'all', why: 'changing the API' },
];

let cp: ControlPlane;

before(async () => {
  cp = await startControlPlane();
  // The CRDs too: kubectl resolves portcullis.dev resource names through discovery.
  await installBase(cp);
  await cp.kubectlOk(['create', 'namespace', 'agents']);
});
after(() => cp?.close());

const describe = (c: Call): string => `${c.verb} ${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.name ? ` ${c.name}` : ''} (${c.where === 'all' ? 'all namespaces' : c.where === 'own' ? NS : 'namespace agents'})`;

/** `kubectl auth can-i` as the controller's ServiceAccount: true for "yes", false for "no", a failure for anything else. */
async function canI(c: Call): Promise<boolean> {
  const target = c.name ? `${c.resource}/${c.name}` : c.resource;
  const where = c.where === 'all' ? ['-A'] : ['-n', c.where === 'own' ? NS : 'agents'];
  const r = await cp.kubectl(['auth', 'can-i', c.verb, target, ...(c.subresource ? [`--subresource=${c.subresource}`] : []), ...where], { as: SA });
  const answer = r.stdout.trim();
  assert.ok(answer === 'yes' || answer === 'no', `kubectl auth can-i ${describe(c)}: ${r.stdout}${r.stderr}`);
  return answer === 'yes';
}

test('the authorizer allows every call the controller makes, where it makes it', async () => {
  const denied: string[] = [];
  for (const c of NEEDED) if (!(await canI(c))) denied.push(describe(c));
  assert.deepEqual(denied, []);
});

test('calls of its own namespace only are refused in every other namespace', async () => {
  const allowed: string[] = [];
  for (const c of NEEDED.filter((n) => n.where === 'own')) {
    if (await canI({ ...c, where: 'other' })) allowed.push(describe({ ...c, where: 'other' }));
  }
  assert.deepEqual(allowed, []);
});

test('the authorizer refuses what the controller must never do', async () => {
  const allowed: string[] = [];
  for (const c of FORBIDDEN) if (await canI(c)) allowed.push(`${describe(c)}: ${c.why}`);
  assert.deepEqual(allowed, []);
});

interface Grant {
  verb: string;
  resource: string;
  subresource?: string;
  name?: string;
}

/** The API server's own account of what `user` may do in `namespace` (SelfSubjectRulesReview), one grant per verb, resource and name. */
async function grantsOf(user: string, namespace: string): Promise<Grant[]> {
  // --validate=false: kubectl's client-side check would list CRDs, which the controller may not.
  const review = await cp.kubectlOk(['create', '--validate=false', '-f', '-', '-o', 'json'], {
    as: user,
    input: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } }),
  });
  assert.equal(review.status.incomplete, false, review.status.evaluationError);
  return review.status.resourceRules.flatMap((rule: any) =>
    rule.apiGroups.flatMap((group: string) =>
      rule.resources.flatMap((r: string) => {
        const [plural, subresource] = r.split('/') as [string, string | undefined];
        const resource = group ? `${plural}.${group}` : plural;
        return rule.verbs.flatMap((verb: string) => (rule.resourceNames ?? [undefined]).map((name: string | undefined) => ({ verb, resource, subresource, name })));
      }),
    ),
  );
}

const key = (g: Grant): string => `${g.verb} ${g.resource}${g.subresource ? `/${g.subresource}` : ''}${g.name ? ` ${g.name}` : ''}`;

test('the rules the API server reports for the controller grant nothing that NEEDED does not name', async () => {
  // What any ServiceAccount of the namespace may do without our RBAC (discovery, self reviews, …).
  await cp.kubectlOk(['create', 'serviceaccount', 'baseline', '-n', NS]);
  for (const namespace of [NS, 'agents']) {
    const baseline = new Set((await grantsOf(`system:serviceaccount:${NS}:baseline`, namespace)).map(key));
    const ours = (await grantsOf(SA, namespace)).filter((g) => !baseline.has(key(g)));
    assert.ok(ours.length > 0, 'the review reports the controller roles');
    const extra = ours.filter((g) => !NEEDED.some((n) => key(n) === key(g) && (n.where === 'all' || namespace === NS))).map(key);
    assert.deepEqual(extra, [], `granted in ${namespace} but not needed`);
  }
});

test('static: no wildcards in the controller roles, and they are bound to its ServiceAccount only', () => {
  const docs = manifest('manifests/controller/rbac.yaml');
  for (const role of docs.filter((d) => (d.kind === 'ClusterRole' || d.kind === 'Role') && d.metadata.name === 'portcullis-controller')) {
    for (const r of role.rules) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) assert.ok(!(r[field] ?? []).includes('*'), `wildcard in ${JSON.stringify(r)}`);
    }
  }
  const bindings = docs.filter((d) => d.kind.endsWith('Binding') && d.metadata.name === 'portcullis-controller');
  assert.equal(bindings.length, 2);
  for (const b of bindings) assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'portcullis-controller', namespace: NS }]);
});

test('the webhook names in RBAC match the webhook configurations and the controller defaults', async () => {
  const hooks = manifest('manifests/controller/webhooks.yaml').map((d) => d.metadata.name).sort();
  assert.deepEqual(hooks, ['portcullis-policybundle-validator', 'portcullis-sidecar-injector']);
  const { loadControllerConfig } = await import('../../src/config/controller.ts');
  const c = loadControllerConfig({});
  assert.deepEqual([c.validatingWebhook, c.mutatingWebhook].sort(), hooks);
  assert.equal(c.webhookSecret, 'portcullis-webhook-tls');
  assert.equal(c.leaseName, 'portcullis-controller');
  for (const name of hooks) assert.ok(NEEDED.some((n) => n.name === name && n.verb === 'patch'), `${name} is patched`);
});
