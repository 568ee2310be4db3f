import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectSidecar, DEFAULT_INJECTION, SIDECAR_NAME, CREDENTIALS_DIR, type InjectionConfig } from '../../../src/controller/webhooks/inject.ts';
import { CAPTURE_INIT_NAME } from '../../../src/controller/webhooks/capture-injection.ts';
import { readCaptureConfig } from '../../../src/config/capture.ts';
import { applyJsonPatch } from '../../support/json-patch.ts';

const CONFIG: InjectionConfig = { ...DEFAULT_INJECTION, image: 'ghcr.io/portcullis/portcullis:0.1.0', controllerUrl: 'http://portcullis-controller.portcullis-system.svc:8080' };

function pod(annotations: Record<string, string> = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'agent', namespace: 'agents', annotations: { 'portcullis.dev/inject': 'true', ...annotations } },
    spec: { initContainers: [{ name: 'setup', image: 'busybox' }], containers: [{ name: 'agent', image: 'agent:1' }] },
  };
}

function injected(config: InjectionConfig, annotations: Record<string, string> = {}): any {
  const p = pod(annotations);
  const r = injectSidecar({ pod: p, namespace: 'agents', namespaceLabels: {} }, config);
  assert.ok(r.inject);
  return applyJsonPatch(p, r.patch);
}

const envOf = (c: any): Record<string, string> => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]));

test('capture is on by default: an init container from the same image with NET_ADMIN and NET_RAW only, before the sidecar', () => {
  const out = injected(CONFIG);
  assert.deepEqual(out.spec.initContainers.map((c: any) => c.name), [CAPTURE_INIT_NAME, SIDECAR_NAME, 'setup']);
  const init = out.spec.initContainers[0];
  assert.equal(init.image, CONFIG.image);
  assert.deepEqual(init.args, ['capture-init']);
  assert.equal(init.restartPolicy, undefined, 'a plain init container: it runs to completion first');
  assert.deepEqual(init.securityContext.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
  assert.equal(init.securityContext.allowPrivilegeEscalation, false);
  assert.equal(init.securityContext.privileged, undefined);
  // The agent's containers get no capability from this.
  assert.equal(out.spec.containers[0].securityContext, undefined);
});

test('the init step and the sidecar get the same capture settings, and they read back as the same config', () => {
  const out = injected({ ...CONFIG, capture: { httpPorts: [80, 8080], tlsPorts: [443, 8443], exclude: ['10.96.0.1/32'], dns: [] } });
  const [init, sidecar] = out.spec.initContainers;
  const initEnv = envOf(init);
  const sidecarEnv = envOf(sidecar);
  for (const k of Object.keys(initEnv)) assert.equal(sidecarEnv[k], initEnv[k], k);
  const config = readCaptureConfig(initEnv);
  assert.deepEqual({ enabled: config.enabled, http: config.httpPorts, tls: config.tlsPorts, exclude: config.exclusions }, { enabled: true, http: [80, 8080], tls: [443, 8443], exclude: ['10.96.0.1/32'] });
});

test('exclusions come from the platform only: a pod annotation cannot add one', () => {
  const out = injected(CONFIG, { 'portcullis.dev/capture-exclude': '0.0.0.0/0', 'portcullis.dev/capture': 'false' });
  assert.equal(out.spec.initContainers[0].name, CAPTURE_INIT_NAME);
  for (const c of out.spec.initContainers.slice(0, 2)) assert.equal(envOf(c).PORTCULLIS_CAPTURE_EXCLUDE, undefined);
});

test('the credentials Secret is mounted into the sidecar alone', () => {
  const out = injected(CONFIG);
  const sidecar = out.spec.initContainers.find((c: any) => c.name === SIDECAR_NAME);
  assert.ok(sidecar.volumeMounts.some((m: any) => m.name === 'portcullis-credentials' && m.mountPath === CREDENTIALS_DIR && m.readOnly));
  assert.equal(envOf(sidecar).PORTCULLIS_CREDENTIALS_DIR, CREDENTIALS_DIR);
  const volume = out.spec.volumes.find((v: any) => v.name === 'portcullis-credentials');
  assert.deepEqual(volume.secret, { secretName: 'portcullis-credentials', optional: true, defaultMode: 0o444 });
  for (const c of [...out.spec.containers, ...out.spec.initContainers.filter((c: any) => c.name !== SIDECAR_NAME)]) {
    assert.ok(!(c.volumeMounts ?? []).some((m: any) => m.name === 'portcullis-credentials'), `${c.name} does not mount it`);
  }
});

test('with capture off (the chart value), only the sidecar and the proxy environment are added', () => {
  const out = injected({ ...CONFIG, capture: undefined });
  assert.deepEqual(out.spec.initContainers.map((c: any) => c.name), [SIDECAR_NAME, 'setup']);
  assert.equal(envOf(out.spec.initContainers[0]).PORTCULLIS_CAPTURE, undefined);
});
