/**
 * The controller's RBAC in manifests/controller/rbac.yaml grants what the
 * controller does through its KubeApi seam, and nothing with wildcards.
 * Each line below is one call the controller makes; add one here when the
 * controller starts making a new kind of call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manifest } from '../support/controller-harness.ts';

const NEEDED: { group: string; resource: string; verb: string; name?: string; namespaced?: 'own' }[] = [
  { group: 'portcullis.dev', resource: 'policybundles', verb: 'list' },
  { group: 'portcullis.dev', resource: 'policybundles', verb: 'watch' },
  { group: 'portcullis.dev', resource: 'policybundles/status', verb: 'patch' },
  { group: 'portcullis.dev', resource: 'actionapprovals', verb: 'list' },
  { group: 'portcullis.dev', resource: 'actionapprovals', verb: 'watch' },
  { group: 'portcullis.dev', resource: 'actionapprovals', verb: 'get' },
  { group: 'portcullis.dev', resource: 'actionapprovals', verb: 'create' },
  { group: 'portcullis.dev', resource: 'actionapprovals', verb: 'delete' },
  { group: 'portcullis.dev', resource: 'actionapprovals/status', verb: 'patch' },
  { group: '', resource: 'namespaces', verb: 'list' },
  { group: '', resource: 'namespaces', verb: 'watch' },
  { group: '', resource: 'events', verb: 'create' },
  { group: 'authentication.k8s.io', resource: 'tokenreviews', verb: 'create' },
  { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verb: 'get', name: 'portcullis-sidecar-injector' },
  { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verb: 'patch', name: 'portcullis-sidecar-injector' },
  { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', verb: 'get', name: 'portcullis-policybundle-validator' },
  { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', verb: 'patch', name: 'portcullis-policybundle-validator' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespaced: 'own' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'get', name: 'portcullis-controller', namespaced: 'own' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', name: 'portcullis-controller', namespaced: 'own' },
  { group: '', resource: 'secrets', verb: 'create', namespaced: 'own' },
  { group: '', resource: 'configmaps', verb: 'get', namespaced: 'own' },
  { group: '', resource: 'configmaps', verb: 'create', namespaced: 'own' },
  { group: '', resource: 'configmaps', verb: 'update', namespaced: 'own' },
  { group: '', resource: 'configmaps', verb: 'delete', namespaced: 'own' },
  { group: '', resource: 'secrets', verb: 'get', name: 'portcullis-webhook-tls', namespaced: 'own' },
];

const docs = manifest('manifests/controller/rbac.yaml');
const clusterRole = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'portcullis-controller');
const role = docs.find((d) => d.kind === 'Role' && d.metadata.name === 'portcullis-controller');

function grants(rules: any[], n: (typeof NEEDED)[number]): boolean {
  return rules.some(
    (r) => r.apiGroups.includes(n.group) && r.resources.includes(n.resource) && r.verbs.includes(n.verb) && (!r.resourceNames || (n.name !== undefined && r.resourceNames.includes(n.name))),
  );
}

test('every call the controller makes is granted', () => {
  for (const n of NEEDED) {
    const rules = n.namespaced === 'own' ? role.rules : clusterRole.rules;
    assert.ok(grants(rules, n), `missing: ${n.verb} ${n.resource}${n.group ? '.' + n.group : ''}${n.name ? ` (${n.name})` : ''}`);
  }
});

test('no wildcards, nothing beyond what is needed, and no Secrets or Leases cluster-wide', () => {
  for (const rules of [clusterRole.rules, role.rules]) {
    for (const r of rules) {
      for (const field of ['apiGroups', 'resources', 'verbs']) assert.ok(!r[field].includes('*'), `wildcard in ${JSON.stringify(r)}`);
    }
  }
  for (const r of clusterRole.rules) {
    assert.ok(!r.resources.includes('secrets') && !r.resources.includes('leases'));
    for (const verb of r.verbs) {
      assert.ok(
        NEEDED.some((n) => n.namespaced !== 'own' && r.resources.includes(n.resource) && n.verb === verb),
        `${verb} on ${r.resources} is not needed`,
      );
    }
  }
  for (const b of docs.filter((d) => d.kind.endsWith('Binding') && d.metadata.name === 'portcullis-controller')) {
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'portcullis-controller', namespace: 'portcullis-system' }]);
  }
});

test('the webhook names in RBAC match the webhook configurations and the controller defaults', async () => {
  const hooks = manifest('manifests/controller/webhooks.yaml').map((d) => d.metadata.name).sort();
  assert.deepEqual(hooks, ['portcullis-policybundle-validator', 'portcullis-sidecar-injector']);
  const { loadControllerConfig } = await import('../../src/config/controller.ts');
  const c = loadControllerConfig({});
  assert.deepEqual([c.validatingWebhook, c.mutatingWebhook].sort(), hooks);
  assert.equal(c.webhookSecret, 'portcullis-webhook-tls');
  assert.equal(c.leaseName, 'portcullis-controller');
});
