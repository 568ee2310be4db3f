/**
 * Webhook certificates that renew themselves, against a real kube-apiserver
 * with the chart's RBAC: with a serving certificate valid for a few seconds,
 * the controller replaces it in its Secret before it expires (update, by
 * name), every replica serves the renewed one without a restart, the CA is
 * renewed too with the previous one kept in the bundle, and the API server
 * keeps calling the webhook throughout (it trusts the patched caBundle). A
 * webhook configuration re-created or edited under a running controller gets
 * its caBundle back. A replica started on an expired certificate of an
 * earlier version replaces it. In cert-manager mode, renewed files are
 * served once they change.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, webhookConfigurations, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { generateServingCertificate } from '../../src/controller/certs/x509.ts';
import { loadControllerConfig } from '../../src/config/controller.ts';
import { startController } from '../../src/controller/controller.ts';
import { ClientNodeKubeApi } from '../../src/controller/k8s/client-node-kube-api.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';

let h: Harness;
const VALIDITY_SECONDS = 6;
const MUTATING = 'portcullis-sidecar-injector';
let pods = 0;

/** The certificate a TLS client is shown on `port` (what the API server sees). */
function servedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'portcullis-controller.portcullis-system.svc' }, () => {
      const raw = s.getPeerCertificate().raw;
      s.end();
      resolve(new X509Certificate(raw).fingerprint256);
    });
    s.on('error', reject);
  });
}

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;
const secret = async () => h.kube.get('v1', 'Secret', 'portcullis-system', 'portcullis-webhook-tls');
const mutatingCaBundle = async (): Promise<string[]> => {
  const m = await h.kube.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, MUTATING);
  return (m?.webhooks ?? []).map((w: any) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString());
};

/** A pod created through the API server, which must call the injection webhook over TLS and trust it. */
async function injectedPod(): Promise<void> {
  const stored = await h.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `certs-${++pods}`, namespace: 'agents', annotations: { 'portcullis.dev/inject': 'true' } },
    spec: { containers: [{ name: 'agent', image: 'ghcr.io/example/agent:1' }] },
  });
  assert.ok(stored.spec.initContainers.some((c: any) => c.name === 'portcullis-sidecar'));
}

before(async () => {
  h = await startHarness({ replicas: 2, configOverrides: { webhookCertValiditySeconds: String(VALIDITY_SECONDS) } });
  await h.namespace('agents');
  await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'agents' } });
});

after(() => h?.close());

test('the serving certificate is renewed before it expires, served by every replica without a restart, and admission keeps working', async () => {
  const [a, b] = h.controllers;
  await injectedPod();
  const first = fingerprint(a!.tls.certPem);
  const firstNotAfter = Date.parse(new X509Certificate(a!.tls.certPem).validTo);
  assert.equal(await servedCertificate(a!.webhookPort), first);
  // Renewed at two thirds of its validity, before it expires; both replicas change over.
  await until(() => fingerprint(a!.tls.certPem) !== first && fingerprint(b!.tls.certPem) === fingerprint(a!.tls.certPem), 'both replicas to load a renewed certificate', VALIDITY_SECONDS * 3000);
  assert.ok(Date.now() < firstNotAfter, 'renewed before the old certificate expired');
  const renewed = fingerprint(a!.tls.certPem);
  assert.equal(fingerprint(Buffer.from((await secret()).data['tls.crt'], 'base64').toString()), renewed, 'the Secret holds what is served');
  await until(async () => (await servedCertificate(a!.webhookPort)) === renewed && (await servedCertificate(b!.webhookPort)) === renewed, 'the renewed certificate on the wire');
  await injectedPod();
});

test('the CA is renewed before it expires; the previous CA stays in the bundle and in every caBundle, so old and new certificates are trusted', async () => {
  const [a] = h.controllers;
  const firstCa = fingerprint(a!.tls.caPem);
  // The CA lives four times as long as the serving certificate: renewed after two thirds of that.
  await until(() => fingerprint(a!.tls.caPem) !== firstCa, 'a renewed CA', VALIDITY_SECONDS * 4000);
  const bundle = a!.tls.caPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
  assert.equal(bundle.length, 2, 'new CA first, the previous one kept until it expires');
  assert.equal(fingerprint(bundle[1]!), firstCa);
  await until(async () => (await mutatingCaBundle()).every((ca) => ca === a!.tls.caPem), 'caBundle patched with the new bundle');
  await injectedPod();
});

test('a webhook configuration re-created or edited under a running controller gets its caBundle back', async () => {
  const [a] = h.controllers;
  await h.kube.delete('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, MUTATING);
  // Re-applied from the manifests, with no caBundle (as `kubectl apply -f manifests/` or a helm upgrade does).
  const fresh = webhookConfigurations(h.webhookPort).find((c) => c.kind === 'MutatingWebhookConfiguration');
  await h.kube.create(fresh);
  await until(async () => (await mutatingCaBundle()).every((ca) => ca === a!.tls.caPem), 'caBundle set on the re-created configuration');
  await injectedPod();
  // Someone edits it to another CA: set back.
  const other = generateServingCertificate({ dnsNames: ['elsewhere.svc'] });
  const m = await h.kube.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, MUTATING);
  m.webhooks[0].clientConfig.caBundle = Buffer.from(other.caPem).toString('base64');
  const edited = await h.kube.mergePatch('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, MUTATING, { webhooks: m.webhooks });
  assert.equal(Buffer.from(edited.webhooks[0].clientConfig.caBundle, 'base64').toString(), other.caPem, 'the edit was stored');
  await until(async () => (await mutatingCaBundle()).every((ca) => ca === a!.tls.caPem), 'caBundle set back after an edit');
});

test('a replica started on an expired certificate of an earlier version (no CA key in the Secret) replaces it and serves', async () => {
  for (const c of h.controllers) await c.stop();
  h.controllers.splice(0);
  const old = generateServingCertificate({ dnsNames: ['portcullis-controller.portcullis-system.svc'], validSeconds: 60, now: new Date(Date.now() - 120_000) });
  const b64 = (x: string): string => Buffer.from(x).toString('base64');
  await h.kube.mergePatch('v1', 'Secret', 'portcullis-system', 'portcullis-webhook-tls', { data: { 'tls.crt': b64(old.certPem), 'tls.key': b64(old.keyPem), 'ca.crt': b64(old.caPem), 'ca.key': null } });
  assert.equal((await secret()).data['ca.key'], undefined);
  const c = await h.startReplica('controller-restarted');
  assert.ok(Date.parse(new X509Certificate(c.tls.certPem).validTo) > Date.now(), 'serves a valid certificate');
  assert.notEqual(fingerprint(c.tls.certPem), fingerprint(old.certPem));
  assert.ok((await secret()).data['ca.key'], 'the Secret now holds the CA key renewals need');
  await until(async () => (await mutatingCaBundle()).every((ca) => ca === c.tls.caPem), 'caBundle for the new CA');
  await injectedPod();
});

test('cert-manager mode: renewed files are served once they change, without a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-webhook-tls-'));
  const write = (t: { certPem: string; keyPem: string; caPem: string }): void => {
    writeFileSync(join(dir, 'tls.crt'), t.certPem);
    writeFileSync(join(dir, 'tls.key'), t.keyPem);
    writeFileSync(join(dir, 'ca.crt'), t.caPem);
  };
  const names = { dnsNames: ['portcullis-controller.portcullis-system.svc'], ipAddresses: ['127.0.0.1'] };
  const first = generateServingCertificate(names);
  write(first);
  const config = loadControllerConfig(
    { KUBECONFIG: h.kubeconfig, PORTCULLIS_NAMESPACE: 'portcullis-system' },
    { identity: 'files-mode', listenHost: '127.0.0.1', port: '0', webhookHost: '127.0.0.1', webhookPort: '0', certMode: 'files', webhookCertDir: dir, webhookCertReloadMs: '50' },
  );
  const c = await startController(config, { kube: ClientNodeKubeApi.load(h.kubeconfig, { restartDelayMs: 50 }), compiler: new PortcullisCompiler(), logger: h.logger.child({ replica: 'files-mode' }) });
  try {
    assert.equal(await servedCertificate(c.webhookPort), fingerprint(first.certPem));
    const renewed = generateServingCertificate(names);
    write(renewed);
    await until(async () => (await servedCertificate(c.webhookPort)) === fingerprint(renewed.certPem), 'the renewed files served');
  } finally {
    await c.stop();
  }
});
