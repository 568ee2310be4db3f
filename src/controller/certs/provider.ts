/**
 * Where the webhooks' serving certificate comes from.
 * - `self`: the controller makes a CA and serving certificate, keeps them in
 *   a Secret so that every replica serves the same one (the first replica to
 *   create the Secret wins; the others read it), and patches the `caBundle`
 *   of the webhook configurations.
 * - `files`: certificate and key mounted from a Secret that cert-manager
 *   manages; cert-manager's CA injector fills the `caBundle`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { kubeStatusCode, type KubeApi, type Secret } from '../k8s/kube-api.ts';
import { generateServingCertificate, serviceDnsNames } from './x509.ts';

export interface WebhookTls {
  certPem: string;
  keyPem: string;
  /** The CA the API server must trust (PEM). */
  caPem: string;
  /** Webhook configurations that were not found, so not patched (the API server will not call them). */
  missing?: string[];
}

export interface SelfManagedOptions {
  kube: KubeApi;
  namespace: string;
  service: string;
  secretName: string;
  mutatingWebhook: string;
  validatingWebhook: string;
  /** Extra SANs (tests reach the webhook on 127.0.0.1). */
  ipAddresses?: string[];
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

function fromSecret(s: Secret): WebhookTls | undefined {
  const tls = { certPem: unb64(s.data?.['tls.crt']), keyPem: unb64(s.data?.['tls.key']), caPem: unb64(s.data?.['ca.crt']) };
  if (!tls.certPem || !tls.keyPem || !tls.caPem) return undefined;
  // A certificate about to expire is replaced by a fresh one (on the next start).
  const expires = Date.parse(new X509Certificate(tls.certPem).validTo);
  return expires - Date.now() > 7 * 86_400_000 ? tls : undefined;
}

export async function selfManagedTls(o: SelfManagedOptions): Promise<WebhookTls> {
  const existing = await o.kube.readSecret(o.namespace, o.secretName);
  let tls = existing && fromSecret(existing);
  if (!tls) {
    const made = generateServingCertificate({ dnsNames: serviceDnsNames(o.service, o.namespace), ipAddresses: o.ipAddresses });
    tls = { certPem: made.certPem, keyPem: made.keyPem, caPem: made.caPem };
    const secret: Secret = {
      metadata: { name: o.secretName, namespace: o.namespace, labels: { 'app.kubernetes.io/name': 'portcullis', 'app.kubernetes.io/component': 'webhook-tls' } },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(tls.certPem), 'tls.key': b64(tls.keyPem), 'ca.crt': b64(tls.caPem) },
    };
    try {
      await o.kube.createSecret(secret);
    } catch (e) {
      // Another replica (or an expired Secret) got there first: use what is stored.
      if (kubeStatusCode(e) !== 409) throw e;
      const winner = await o.kube.readSecret(o.namespace, o.secretName);
      const stored = winner && fromSecret(winner);
      if (!stored) {
        throw new PortcullisError(ErrorCodes.CONFIG, `Secret ${o.namespace}/${o.secretName} holds no valid webhook certificate: delete it and restart the controller`);
      }
      tls = stored;
    }
  }
  const caBundle = b64(tls.caPem);
  const missing: string[] = [];
  for (const [kind, name] of [['mutating', o.mutatingWebhook], ['validating', o.validatingWebhook]] as const) {
    try {
      await o.kube.patchWebhookCaBundle(kind, name, caBundle);
    } catch (e) {
      if (kubeStatusCode(e) !== 404) throw e;
      missing.push(`${kind}webhookconfiguration/${name}`);
    }
  }
  return { ...tls, missing };
}

/** cert-manager mode: tls.crt, tls.key (and ca.crt) mounted in `dir`. */
export async function mountedTls(dir: string): Promise<WebhookTls> {
  try {
    const [certPem, keyPem, caPem] = await Promise.all(['tls.crt', 'tls.key', 'ca.crt'].map((f) => readFile(join(dir, f), 'utf8').catch(() => '')));
    if (!certPem || !keyPem) throw new Error('tls.crt or tls.key is missing');
    return { certPem, keyPem, caPem: caPem ?? '' };
  } catch (e) {
    throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_WEBHOOK_CERT_DIR=${dir}: ${(e as Error).message}`, { setting: 'PORTCULLIS_WEBHOOK_CERT_DIR' });
  }
}
