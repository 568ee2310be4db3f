import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { injectSidecar, DEFAULT_INJECTION, SIDECAR_NAME, type InjectionConfig } from '../../../src/controller/webhooks/inject.ts';
import { loadSidecarShippingConfig } from '../../../src/config/sidecar-shipping.ts';
import { applyJsonPatch } from '../../support/json-patch.ts';

function basicPod(): { pod: any; namespace: string; namespaceLabels: Record<string, string> } {
  const docs = parseAllDocuments(readFileSync(join(import.meta.dirname, '..', 'testdata', 'inject', 'basic.yaml'), 'utf8')).map((d) => d.toJS());
  const deploy = docs.find((d) => d.kind === 'Deployment');
  const ns = docs.find((d) => d.kind === 'Namespace');
  return {
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: deploy.metadata.namespace, ...deploy.spec.template.metadata }, spec: deploy.spec.template.spec },
    namespace: deploy.metadata.namespace,
    namespaceLabels: ns?.metadata.labels ?? {},
  };
}

const base: InjectionConfig = { ...DEFAULT_INJECTION, image: 'ghcr.io/portcullis/portcullis:0.1.0', controllerUrl: 'http://portcullis-controller.portcullis-system.svc:8080' };

test('with the platform shipping setting, the sidecar alone gets the destination, its pod UID and the credentials from the namespace Secret', () => {
  const ledgerShipping = loadSidecarShippingConfig({ PORTCULLIS_SIDECAR_SHIP_TO: 's3://evidence/ledgers', PORTCULLIS_SIDECAR_SHIP_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com', PORTCULLIS_SIDECAR_SHIP_REGION: 'eu-west-1' })!;
  const input = basicPod();
  const r = injectSidecar(input, { ...base, ledgerShipping });
  assert.ok(r.inject);
  const out = applyJsonPatch(input.pod, r.patch) as any;
  const sidecar = out.spec.initContainers.find((c: any) => c.name === SIDECAR_NAME);
  const env = new Map<string, any>(sidecar.env.map((e: any) => [e.name, e]));
  assert.equal(env.get('PORTCULLIS_SHIP_TO').value, 's3://evidence/ledgers');
  assert.equal(env.get('PORTCULLIS_SHIP_ENDPOINT').value, 'https://s3.eu-west-1.amazonaws.com');
  assert.equal(env.get('PORTCULLIS_SHIP_REGION').value, 'eu-west-1');
  assert.deepEqual(env.get('PORTCULLIS_POD_UID').valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.uid' } });
  assert.deepEqual(env.get('PORTCULLIS_SHIP_ACCESS_KEY_ID').valueFrom, { secretKeyRef: { name: 'portcullis-ledger-shipping', key: 'access-key-id' } });
  assert.deepEqual(env.get('PORTCULLIS_SHIP_SECRET_ACCESS_KEY').valueFrom, { secretKeyRef: { name: 'portcullis-ledger-shipping', key: 'secret-access-key' } });
  // The agent's containers never see them.
  for (const c of out.spec.containers) {
    for (const e of c.env ?? []) assert.ok(!String(e.name).startsWith('PORTCULLIS_SHIP_'), `${c.name} got ${e.name}`);
    for (const f of c.envFrom ?? []) assert.notEqual(f.secretRef?.name, 'portcullis-ledger-shipping');
  }
});

test('without it nothing about shipping is injected', () => {
  const input = basicPod();
  const r = injectSidecar(input, base);
  assert.ok(r.inject);
  const out = applyJsonPatch(input.pod, r.patch) as any;
  const sidecar = out.spec.initContainers.find((c: any) => c.name === SIDECAR_NAME);
  assert.ok(!sidecar.env.some((e: any) => e.name.startsWith('PORTCULLIS_SHIP_') || e.name === 'PORTCULLIS_POD_UID'));
  assert.equal(loadSidecarShippingConfig({}), undefined);
  assert.throws(() => loadSidecarShippingConfig({ PORTCULLIS_SIDECAR_SHIP_TO: 's3://evidence/ledgers' }), (e: any) => e.code === 'PORTCULLIS_CONFIG');
});
