/**
 * Golden files: every testdata/inject/X.yaml (a real Deployment manifest,
 * optionally after a Namespace) is turned into the Pod the API server would
 * create, injected, patched, and compared with X.yaml.injected.
 * Regenerate with PORTCULLIS_UPDATE_GOLDEN=1 and review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { injectSidecar, injectionWanted, DEFAULT_INJECTION, MODE_FROM_BUNDLE, SIDECAR_NAME, type InjectionConfig } from '../../../src/controller/webhooks/inject.ts';
import { applyJsonPatch } from '../../support/json-patch.ts';
import { CAPTURE_INIT_NAME } from '../../../src/controller/webhooks/capture-injection.ts';
import { isPortcullisError } from '../../../src/errors.ts';

const DIR = join(import.meta.dirname, '..', 'testdata', 'inject');
const UPDATE = process.env.PORTCULLIS_UPDATE_GOLDEN === '1';
const CONFIG: InjectionConfig = {
  ...DEFAULT_INJECTION,
  image: 'ghcr.io/portcullis/portcullis:0.1.0',
  controllerUrl: 'http://portcullis-controller.portcullis-system.svc:8080',
};

function podFromManifest(file: string): { pod: any; namespace: string; namespaceLabels: Record<string, string>; namespaceAnnotations: Record<string, string> } {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => d.toJS());
  const ns = docs.find((d) => d.kind === 'Namespace');
  const deploy = docs.find((d) => d.kind === 'Deployment');
  const t = deploy.spec.template;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: `${deploy.metadata.name}-`, namespace: deploy.metadata.namespace, ...t.metadata },
    spec: t.spec,
  };
  return { pod, namespace: deploy.metadata.namespace, namespaceLabels: ns?.metadata.labels ?? {}, namespaceAnnotations: ns?.metadata.annotations ?? {} };
}

const cases = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

test('there are golden cases', () => assert.ok(cases.length >= 4));

for (const file of cases) {
  test(`inject ${file}`, () => {
    const input = podFromManifest(file);
    const result = injectSidecar(input, CONFIG);
    const out = result.inject ? applyJsonPatch(input.pod, result.patch) : input.pod;
    const text = stringify(out, { lineWidth: 0 });
    const golden = join(DIR, `${file}.injected`);
    if (UPDATE || !existsSync(golden)) {
      if (!UPDATE) assert.fail(`missing ${golden}: run with PORTCULLIS_UPDATE_GOLDEN=1`);
      writeFileSync(golden, text);
    }
    assert.equal(text, readFileSync(golden, 'utf8'));
    // Injection is idempotent: an injected pod is never injected again.
    const again = injectSidecar({ ...input, pod: out }, CONFIG);
    assert.equal(again.inject, false);
  });
}

test('the patch paths hold for a pod with every list present and for one with none', () => {
  for (const file of cases) {
    const input = podFromManifest(file);
    const r = injectSidecar(input, CONFIG);
    if (!r.inject) continue;
    const out = applyJsonPatch(input.pod, r.patch);
    // The capture rules first, then the native sidecar that checks them, then the pod's own init containers.
    assert.deepEqual(out.spec.initContainers.slice(0, 2).map((c: any) => c.name), [CAPTURE_INIT_NAME, SIDECAR_NAME]);
    assert.equal(out.spec.initContainers[1].restartPolicy, 'Always');
    for (const c of out.spec.containers) {
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
      assert.equal(env.HTTPS_PROXY, 'http://127.0.0.1:7070', `${file} ${c.name}`);
      assert.equal(env.HTTP_PROXY, 'http://127.0.0.1:7070');
      assert.match(env.NO_PROXY, /127\.0\.0\.1/);
      assert.equal(c.env.filter((e: any) => e.name === 'HTTPS_PROXY').length, 1);
    }
  }
});

test('policy and mode annotations are honoured; bad values are refused with a code', () => {
  const input = podFromManifest('sidecars-and-proxy-env.yaml');
  const r = injectSidecar(input, CONFIG);
  assert.ok(r.inject);
  assert.equal(r.policy, 'platform/ops-baseline');
  assert.equal(r.mode, 'observe');
  input.pod.metadata.annotations['portcullis.dev/mode'] = 'audit';
  assert.throws(() => injectSidecar(input, CONFIG), (e) => isPortcullisError(e) && e.code === 'PORTCULLIS_BAD_REQUEST');
  input.pod.metadata.annotations['portcullis.dev/mode'] = 'enforce';
  input.pod.metadata.annotations['portcullis.dev/policy'] = 'a/b/c';
  assert.throws(() => injectSidecar(input, CONFIG), (e) => isPortcullisError(e) && e.code === 'PORTCULLIS_BAD_REQUEST');
});

test('a pod chooses only within its namespace\'s rules: bundles and modes', () => {
  const input = podFromManifest('sidecars-and-proxy-env.yaml');
  const forbidden = (e: unknown) => isPortcullisError(e) && e.code === 'PORTCULLIS_FORBIDDEN';
  // Without the namespace's annotation, a bundle of another namespace is not the pod's to pick.
  assert.throws(() => injectSidecar({ ...input, namespaceAnnotations: {} }, CONFIG), (e) => forbidden(e) && /platform\/ops-baseline is in another namespace/.test((e as Error).message));
  input.pod.metadata.annotations['portcullis.dev/policy'] = 'ops-local';
  assert.throws(() => injectSidecar(input, CONFIG), (e) => forbidden(e) && /ops\/ops-local is not one namespace ops allows/.test((e as Error).message));
  // Enforced: enforce only unless the namespace allows observe; no annotation means pinned to enforce.
  const enforced = podFromManifest('basic.yaml');
  enforced.namespaceLabels = { 'portcullis.dev/injection': 'enabled' };
  enforced.pod.metadata.annotations['portcullis.dev/mode'] = 'observe';
  assert.throws(() => injectSidecar(enforced, CONFIG), (e) => forbidden(e) && /allows only enforce/.test((e as Error).message));
  delete enforced.pod.metadata.annotations['portcullis.dev/mode'];
  assert.equal(sidecarEnv(injectSidecar(enforced, CONFIG)).PORTCULLIS_MODE, 'enforce');
  enforced.namespaceAnnotations = { 'portcullis.dev/modes': 'enforce,observe' };
  assert.equal('PORTCULLIS_MODE' in sidecarEnv(injectSidecar(enforced, CONFIG)), false);
});

test('pods that did not ask are left alone', () => {
  const input = podFromManifest('basic.yaml');
  delete input.pod.metadata.annotations['portcullis.dev/inject'];
  assert.deepEqual(injectionWanted(input), { inject: false, reason: 'not requested' });
  input.pod.spec.hostNetwork = true;
  input.namespaceLabels = { 'portcullis.dev/injection': 'enabled' };
  assert.equal(injectionWanted(input).inject, false);
});

test('with sidecar TLS the controller CA is handed to the sidecar', () => {
  const input = podFromManifest('basic.yaml');
  const r = injectSidecar(input, { ...CONFIG, controllerUrl: 'https://portcullis-controller.portcullis-system.svc:443', controllerCa: 'PEM' });
  assert.ok(r.inject);
  assert.equal(sidecarEnv(r).PORTCULLIS_CONTROLLER_CA, 'PEM');
});

function sidecarEnv(r: ReturnType<typeof injectSidecar>): Record<string, string | undefined> {
  assert.ok(r.inject);
  const added = r.patch.filter((p) => p.path.startsWith('/spec/initContainers')).flatMap((p) => (Array.isArray(p.value) ? p.value : [p.value]));
  const sidecar = added.find((c: any) => c.name === SIDECAR_NAME);
  return Object.fromEntries(sidecar.env.map((e: any) => [e.name, e.value]));
}

test('a pod without a mode annotation gets no PORTCULLIS_MODE: its bundle decides', () => {
  const input = podFromManifest('basic.yaml');
  delete input.pod.metadata.annotations['portcullis.dev/mode'];
  const r = injectSidecar(input, CONFIG);
  assert.ok(r.inject);
  assert.equal(r.mode, MODE_FROM_BUNDLE);
  assert.equal('PORTCULLIS_MODE' in sidecarEnv(r), false);
  input.pod.metadata.annotations['portcullis.dev/mode'] = 'enforce';
  assert.equal(sidecarEnv(injectSidecar(input, CONFIG)).PORTCULLIS_MODE, 'enforce');
});

test('sidecars name the approval page people reach (approvals.pageUrl) when one is configured, and set nothing without one', () => {
  const input = podFromManifest('basic.yaml');
  const env = sidecarEnv(injectSidecar(input, { ...CONFIG, approvalPageUrl: 'https://portcullis.example.com/approvals/' }));
  assert.equal(env.PORTCULLIS_APPROVAL_PAGE_URL, 'https://portcullis.example.com/approvals/');
  assert.equal(env.PORTCULLIS_CONTROLLER_URL, CONFIG.controllerUrl);
  // Unset: no variable, so the sidecar names the page at PORTCULLIS_CONTROLLER_URL as before.
  assert.equal('PORTCULLIS_APPROVAL_PAGE_URL' in sidecarEnv(injectSidecar(input, CONFIG)), false);
  assert.equal('PORTCULLIS_APPROVAL_PAGE_URL' in sidecarEnv(injectSidecar(input, { ...CONFIG, approvalPageUrl: '' })), false);
});

test('sidecars export spans to the configured OTLP endpoint, and none without one', () => {
  const input = podFromManifest('basic.yaml');
  const traced = sidecarEnv(injectSidecar(input, { ...CONFIG, otelEndpoint: 'http://portcullis-jaeger.portcullis-system.svc:4318' }));
  assert.equal(traced.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://portcullis-jaeger.portcullis-system.svc:4318');
  assert.equal(traced.OTEL_TRACES_EXPORTER, undefined);
  assert.equal(traced.OTEL_SERVICE_NAME, 'portcullis-sidecar');
  assert.equal(traced.OTEL_RESOURCE_ATTRIBUTES, 'k8s.pod.name=$(PORTCULLIS_POD_NAME),k8s.namespace.name=$(PORTCULLIS_POD_NAMESPACE)');
  const untraced = sidecarEnv(injectSidecar(input, CONFIG));
  assert.equal(untraced.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
  assert.equal(untraced.OTEL_TRACES_EXPORTER, 'none');
  // $(VAR) only expands variables defined before it in the container's env.
  const names = Object.keys(untraced);
  assert.ok(names.indexOf('PORTCULLIS_POD_NAME') < names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
  assert.ok(names.indexOf('PORTCULLIS_POD_NAMESPACE') < names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
});

test('the sidecar alone mounts a projected service account token for audience portcullis.dev', () => {
  for (const file of cases) {
    const input = podFromManifest(file);
    const r = injectSidecar(input, CONFIG);
    if (!r.inject) continue;
    const out = applyJsonPatch(input.pod, r.patch);
    const volume = out.spec.volumes.find((v: any) => v.name === 'portcullis-token');
    assert.deepEqual(volume.projected.sources, [{ serviceAccountToken: { audience: 'portcullis.dev', expirationSeconds: 3600, path: 'token' } }], file);
    const sidecar = out.spec.initContainers.find((c: any) => c.name === SIDECAR_NAME);
    const mount = sidecar.volumeMounts.find((m: any) => m.name === 'portcullis-token');
    assert.equal(mount.readOnly, true);
    const env = Object.fromEntries(sidecar.env.map((e: any) => [e.name, e.value]));
    assert.equal(env.PORTCULLIS_CONTROLLER_TOKEN_FILE, `${mount.mountPath}/token`);
    for (const c of [...out.spec.containers, ...out.spec.initContainers.filter((c: any) => c !== sidecar)]) {
      assert.ok(!(c.volumeMounts ?? []).some((m: any) => m.name === 'portcullis-token'), `${file}: ${c.name} must not see the token`);
    }
  }
});
