/**
 * What a real API server says about the chart: every object `helm template
 * --include-crds` renders with each value set of helm.ts, and every object of
 * manifests/install.yaml, sent to kube-apiserver (with etcd, built by
 * scripts/e2e-tools.sh) with `kubectl apply --dry-run=server
 * --validate=strict`. That runs the server's own validation, its refusal of
 * unknown fields, the webhook-configuration and RBAC checks and Pod Security
 * admission, without storing anything.
 *
 * As `helm install` does, the CRDs and the release namespace (the chart's own
 * Namespace, Pod Security `restricted`) exist for real first, so that what is
 * judged in them is judged as in a cluster. Kinds of other projects
 * (cert-manager, prometheus-operator) have no API on a bare server: they are
 * listed below, must be exactly what each value set renders of them, and the
 * server must indeed not know them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { FOREIGN_KINDS, type KubeObject } from './kube-schemas.ts';
import { VALUE_SETS, renderObjects } from './helm.ts';
import { readYamlDocuments } from './support.ts';

/** What each value set renders that the bare API server cannot judge ("apiVersion Kind"). */
const EXPECTED_FOREIGN: Record<string, string[]> = {
  'ServiceMonitor on': ['monitoring.coreos.com/v1 ServiceMonitor'],
  'cert-manager mode, sidecars over TLS': ['cert-manager.io/v1 Certificate', 'cert-manager.io/v1 Issuer'],
};

/** Created for real before anything is judged against them. */
const REAL_KINDS = new Set(['CustomResourceDefinition', 'Namespace']);

let cp: ControlPlane;
/**
 * A kubeconfig whose default namespace does not exist: an object that does not
 * name its namespace would land in whatever namespace the user's kubectl
 * points at, and is refused here instead.
 */
let strictKubeconfig: string;

const typeOf = (o: KubeObject): string => `${String(o.apiVersion)} ${String(o.kind)}`;
const idOf = (o: any): string => `${String(o.kind)} ${o.metadata?.namespace ? `${String(o.metadata.namespace)}/` : ''}${String(o.metadata?.name)}`;
const yamlOf = (objects: KubeObject[]): string => objects.map((o) => stringify(o)).join('---\n');

before(async () => {
  cp = await startControlPlane();
  strictKubeconfig = join(cp.dir, 'no-default-namespace.kubeconfig');
  copyFileSync(cp.kubeconfig, strictKubeconfig);
  await cp.kubectlOk(['config', 'set-context', '--current', '--namespace=no-namespace-given'], { kubeconfig: strictKubeconfig });
  // The release namespace as the plain manifests create it (helm install --create-namespace makes a bare one).
  const namespace = renderObjects({ namespace: { create: true } }).filter((o) => o.kind === 'Namespace');
  assert.equal(namespace.length, 1);
  await cp.kubectlOk(['apply', '-f', '-'], { input: yamlOf(namespace) });
});

after(async () => {
  await cp?.close();
});

/** `kubectl apply --dry-run=server` of `objects`; resolves with what the server returned and what kubectl printed on stderr. */
async function dryRun(objects: KubeObject[]): Promise<{ code: number; returned: any[]; stderr: string }> {
  const r = await cp.kubectl(['apply', '--dry-run=server', '--validate=strict', '-o', 'json', '-f', '-'], { input: yamlOf(objects), kubeconfig: strictKubeconfig });
  const out = r.code === 0 ? JSON.parse(r.stdout) : undefined;
  return { code: r.code, returned: out === undefined ? [] : out.kind === 'List' ? out.items : [out], stderr: r.stderr };
}

/**
 * CRDs and namespaces applied for real (and awaited), the foreign kinds
 * returned, everything else dry-run; the server must accept every object,
 * warn about none, and return each one it was sent.
 */
async function judge(objects: KubeObject[]): Promise<KubeObject[]> {
  const real = objects.filter((o) => REAL_KINDS.has(String(o.kind)));
  const foreign = objects.filter((o) => FOREIGN_KINDS.has(typeOf(o)));
  const rest = objects.filter((o) => !real.includes(o) && !foreign.includes(o));
  if (real.length > 0) {
    await cp.kubectlOk(['apply', '-f', '-'], { input: yamlOf(real) });
    const crds = real.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => `crd/${String(o.metadata?.name)}`);
    if (crds.length > 0) await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
  }
  assert.ok(rest.length > 0);
  const r = await dryRun(rest);
  assert.equal(r.code, 0, r.stderr);
  // Warnings are Pod Security's "would violate restricted", deprecated APIs, and the like.
  assert.equal(r.stderr, '', 'the API server warned');
  assert.deepEqual(r.returned.map(idOf).sort(), rest.map(idOf).sort());
  return foreign;
}

/** The server has no API for these: kubectl finds no resource for the kind. */
async function assertUnknownToServer(objects: KubeObject[]): Promise<void> {
  for (const o of objects) {
    const r = await dryRun([o]);
    assert.notEqual(r.code, 0, `${typeOf(o)} was accepted: drop it from the exceptions of chart-server.test.ts`);
    const [version, kind] = typeOf(o).split(' ');
    assert.match(r.stderr, new RegExp(`no matches for kind "${kind}" in version "${version!.replace(/\./g, '\\.')}"`));
  }
}

for (const [name, set] of Object.entries(VALUE_SETS)) {
  test(`the API server accepts every object the chart renders with ${name} (kubectl apply --dry-run=server)`, async () => {
    const objects = renderObjects(set, ['--include-crds']);
    assert.ok(objects.some((o) => o.kind === 'CustomResourceDefinition'), 'the CRDs are rendered (--include-crds)');
    const foreign = await judge(objects);
    assert.deepEqual(foreign.map(typeOf).sort(), (EXPECTED_FOREIGN[name] ?? []).sort(), 'objects the bare API server cannot judge');
    await assertUnknownToServer(foreign);
  });
}

test('the API server accepts every object of manifests/install.yaml (kubectl apply -f manifests/ --dry-run=server)', async () => {
  const objects = readYamlDocuments('manifests/install.yaml') as KubeObject[];
  for (const kind of [...REAL_KINDS, 'Deployment', 'MutatingWebhookConfiguration']) assert.ok(objects.some((o) => o.kind === kind), `no ${kind} in install.yaml`);
  assert.deepEqual(await judge(objects), []);
});

test('the dry runs above can fail: the server refuses or warns about a broken object', async () => {
  const deploy = renderObjects({}).find((o) => o.kind === 'Deployment') as any;
  const copy = (): any => structuredClone(deploy);

  const unknownField = copy();
  unknownField.spec.template.spec.containers[0].imagePullPolcy = 'Always';
  const refused = await dryRun([unknownField]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolcy"/);

  const noNamespace = copy();
  delete noNamespace.metadata.namespace;
  const homeless = await dryRun([noNamespace]);
  assert.notEqual(homeless.code, 0);
  assert.match(homeless.stderr, /namespaces "no-namespace-given" not found/);

  const privileged = copy();
  privileged.spec.template.spec.containers[0].securityContext = { privileged: true };
  const warned = await dryRun([privileged]);
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(warned.stderr, /Warning: would violate PodSecurity "restricted:latest".*privileged/);
});
