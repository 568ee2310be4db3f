/**
 * The webhooks' serving certificate in `self` mode: a CA and a serving
 * certificate kept in a Secret, so that every replica serves the same one,
 * and renewed before they expire. The serving certificate is renewed after
 * two thirds of its validity, the CA (valid four times as long) after two
 * thirds of its own; a renewed CA is put in the bundle beside the previous
 * one until that expires, so certificates of either are trusted while the
 * replicas change over. Whoever renews replaces the Secret (conditional on its
 * resourceVersion: one replica wins, the others take its result); every
 * replica watches the Secret and hot-reloads what it holds.
 */
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { kubeStatusCode, type Informer, type KubeApi, type ResourceRef, type Secret } from '../k8s/kube-api.ts';
import type { WebhookTls, WebhookTlsSource } from './provider.ts';
import { generateCertificateAuthority, issueServingCertificate, type CertificateAuthority } from './x509.ts';

const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
/** How much longer than the serving certificate the CA lives. */
const CA_LIFETIME_FACTOR = 4;
/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SelfManagedOptions {
  kube: KubeApi;
  namespace: string;
  secretName: string;
  dnsNames: string[];
  ipAddresses?: string[];
  /** Validity of the serving certificate. */
  validitySeconds: number;
  logger: Logger;
  clock?: () => number;
}

interface Stored {
  tls: WebhookTls;
  ca?: CertificateAuthority;
  resourceVersion?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g;

/** When a certificate is due for renewal: two thirds into its validity. */
export function renewalTime(pem: string): number {
  const c = new X509Certificate(pem);
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.validTo);
  return from + ((to - from) * 2) / 3;
}

function tlsOf(s: Secret): WebhookTls {
  return { certPem: unb64(s.data?.['tls.crt']), keyPem: unb64(s.data?.['tls.key']), caPem: unb64(s.data?.['ca.crt']) };
}

function isComplete(tls: WebhookTls): boolean {
  return !!tls.certPem && !!tls.keyPem && !!tls.caPem;
}

/** The CA that signs, when its key is stored: the first certificate of the bundle; the others are trusted until they expire. */
function signingCa(s: Secret, caPem: string): CertificateAuthority | undefined {
  const caKey = unb64(s.data?.['ca.key']);
  const caCert = caPem.match(PEM_CERTIFICATE)?.[0];
  return caKey && caCert ? { certPem: caCert, keyPem: caKey } : undefined;
}

function parse(s: Secret | undefined): Stored | undefined {
  if (!s) return undefined;
  const tls = tlsOf(s);
  if (!isComplete(tls)) return { tls, resourceVersion: s.metadata.resourceVersion };
  const ca = signingCa(s, tls.caPem);
  return { tls, ...(ca ? { ca } : {}), resourceVersion: s.metadata.resourceVersion };
}

export class SelfManagedCertificates implements WebhookTlsSource {
  private tls: WebhookTls | undefined;
  private readonly listeners: ((tls: WebhookTls) => void)[] = [];
  private informer: Informer<Secret> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  private readonly clock: () => number;

  constructor(private readonly o: SelfManagedOptions) {
    this.clock = o.clock ?? Date.now;
  }

  current(): WebhookTls {
    if (!this.tls) throw new PortcullisError(ErrorCodes.CONFIG, 'the webhook certificate is not loaded yet');
    return this.tls;
  }

  onChange(listener: (tls: WebhookTls) => void): void {
    this.listeners.push(listener);
  }

  /** Loads (making or renewing as needed) the certificate, then keeps it fresh. */
  async start(): Promise<WebhookTls> {
    this.informer = await this.o.kube.informer<Secret>(
      SECRETS,
      { upsert: (s) => this.loaded(parse(s)), remove: () => this.o.logger.warn({ secret: this.where() }, 'webhook certificate Secret deleted; a new one is made at the next renewal check') },
      {
        namespace: this.o.namespace,
        fieldSelector: `metadata.name=${this.o.secretName}`,
        onError: (err) => this.o.logger.warn({ err: (err as Error)?.message }, `watch of Secret ${this.where()} failed; restarting it`),
      },
    );
    await this.renewIfDue();
    return this.current();
  }

  private where(): string {
    return `${this.o.namespace}/${this.o.secretName}`;
  }

  private due(s: Stored | undefined): string | undefined {
    if (!s || !s.tls.certPem || !s.tls.keyPem || !s.tls.caPem) return 'no certificate stored';
    if (!s.ca) return 'the stored CA has no key (made by an earlier version)';
    const now = this.clock();
    if (now >= renewalTime(s.ca.certPem)) return 'the CA is two thirds through its validity';
    if (now >= renewalTime(s.tls.certPem)) return 'the serving certificate is two thirds through its validity';
    return undefined;
  }

  /** A Secret version was seen: serve what it holds when it is usable. */
  private loaded(s: Stored | undefined): void {
    if (this.stopped || !s || this.due(s) === 'no certificate stored') return;
    const changed = !this.tls || this.tls.certPem !== s.tls.certPem || this.tls.caPem !== s.tls.caPem;
    this.tls = s.tls;
    if (changed) {
      this.o.logger.info({ secret: this.where(), notAfter: new X509Certificate(s.tls.certPem).validTo }, 'webhook certificate loaded');
      for (const l of this.listeners) l(s.tls);
    }
    this.schedule(s);
  }

  private schedule(s: Stored): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const at = s.ca ? Math.min(renewalTime(s.tls.certPem), renewalTime(s.ca.certPem)) : this.clock();
    this.arm(Math.min(MAX_TIMER_MS, Math.max(0, at - this.clock())));
  }

  private arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.renewIfDue().catch((e) => {
        this.o.logger.error({ secret: this.where(), err: (e as Error).message }, 'webhook certificate renewal failed; retried in a minute');
        if (!this.stopped) this.arm(60_000);
      });
    }, ms);
    this.timer.unref();
  }

  /** Renews when due; concurrent callers share one attempt. */
  renewIfDue(): Promise<void> {
    this.renewing ??= this.renew().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renew(): Promise<void> {
    for (let attempt = 0; attempt < 5 && !this.stopped; attempt++) {
      const stored = parse(await this.o.kube.readSecret(this.o.namespace, this.o.secretName));
      const why = this.due(stored);
      if (!why) return this.loaded(stored);
      const next = this.successor(stored);
      const secret: Secret = {
        metadata: {
          name: this.o.secretName,
          namespace: this.o.namespace,
          labels: { 'app.kubernetes.io/name': 'portcullis', 'app.kubernetes.io/component': 'webhook-tls' },
          ...(stored?.resourceVersion ? { resourceVersion: stored.resourceVersion } : {}),
        },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': b64(next.tls.certPem), 'tls.key': b64(next.tls.keyPem), 'ca.crt': b64(next.tls.caPem), 'ca.key': b64(next.ca!.keyPem) },
      };
      try {
        const written = stored ? await this.o.kube.replaceSecret(secret) : await this.o.kube.createSecret(secret);
        this.o.logger.info({ secret: this.where(), why }, 'webhook certificate renewed');
        return this.loaded(parse(written));
      } catch (e) {
        // Another replica renewed first: read what it wrote.
        if (kubeStatusCode(e) !== 409) throw e;
      }
    }
    if (!this.stopped) throw new PortcullisError(ErrorCodes.KUBE_API, `Secret ${this.where()} kept changing while the webhook certificate was renewed`);
  }

  /** The next certificate: a new serving certificate, and a new CA when the old one is due (or has no key). */
  private successor(stored: Stored | undefined): Required<Pick<Stored, 'tls' | 'ca'>> {
    const now = this.clock();
    const keepCa = stored?.ca && now < renewalTime(stored.ca.certPem) ? stored.ca : undefined;
    const ca = keepCa ?? generateCertificateAuthority({ validSeconds: this.o.validitySeconds * CA_LIFETIME_FACTOR, now: new Date(now) });
    const leaf = issueServingCertificate(ca, { dnsNames: this.o.dnsNames, ipAddresses: this.o.ipAddresses, validSeconds: this.o.validitySeconds, now: new Date(now) });
    // Trusted until they expire: the CAs that signed certificates replicas may still serve.
    const previous = (stored?.tls.caPem.match(PEM_CERTIFICATE) ?? []).filter((pem) => pem.trim() !== ca.certPem.trim() && Date.parse(new X509Certificate(pem).validTo) > now);
    const caPem = [ca.certPem, ...previous].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
    return { tls: { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem }, ca };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.renewing?.catch(() => undefined);
    await this.informer?.stop();
  }
}
