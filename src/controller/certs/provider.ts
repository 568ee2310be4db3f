/**
 * Where the webhooks' serving certificate comes from, and how a renewed one
 * reaches the HTTPS server without a restart.
 * - `self` (self-managed.ts): the controller makes and renews a CA and serving
 *   certificate in a Secret, and keeps the webhook configurations' `caBundle`
 *   in step (ca-bundle-sync.ts).
 * - `files`: certificate and key mounted from a Secret that cert-manager
 *   manages (and renews); re-read on an interval, since the kubelet swaps the
 *   files in place. cert-manager's CA injector fills the `caBundle`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';

export interface WebhookTls {
  certPem: string;
  keyPem: string;
  /** The CA(s) the API server must trust (PEM). */
  caPem: string;
}

/** A serving certificate that can change while the controller runs. */
export interface WebhookTlsSource {
  start(): Promise<WebhookTls>;
  current(): WebhookTls;
  /** Called with every new certificate after start. */
  onChange(listener: (tls: WebhookTls) => void): void;
  stop(): Promise<void>;
}

async function readMounted(dir: string): Promise<WebhookTls> {
  try {
    const [certPem, keyPem, caPem] = await Promise.all(['tls.crt', 'tls.key', 'ca.crt'].map((f) => readFile(join(dir, f), 'utf8').catch(() => '')));
    if (!certPem || !keyPem) throw new Error('tls.crt or tls.key is missing');
    return { certPem, keyPem, caPem: caPem ?? '' };
  } catch (e) {
    throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_WEBHOOK_CERT_DIR=${dir}: ${(e as Error).message}`, { setting: 'PORTCULLIS_WEBHOOK_CERT_DIR' });
  }
}

/** cert-manager mode: tls.crt, tls.key (and ca.crt) mounted in `dir`, re-read every `reloadMs`. */
export class MountedCertificates implements WebhookTlsSource {
  private tls: WebhookTls | undefined;
  private readonly listeners: ((tls: WebhookTls) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: { dir: string; reloadMs: number; logger: Logger }) {}

  async start(): Promise<WebhookTls> {
    this.tls = await readMounted(this.o.dir);
    this.timer = setInterval(() => void this.reload(), this.o.reloadMs);
    this.timer.unref();
    return this.tls;
  }

  private async reload(): Promise<void> {
    let next: WebhookTls;
    try {
      next = await readMounted(this.o.dir);
    } catch (e) {
      // Mid-swap, or gone: keep serving what was loaded.
      this.o.logger.warn({ err: (e as Error).message }, 'webhook certificate files unreadable; keeping the loaded certificate');
      return;
    }
    if (this.tls && next.certPem === this.tls.certPem && next.keyPem === this.tls.keyPem && next.caPem === this.tls.caPem) return;
    this.tls = next;
    this.o.logger.info({ dir: this.o.dir }, 'webhook certificate reloaded from its files');
    for (const l of this.listeners) l(next);
  }

  current(): WebhookTls {
    if (!this.tls) throw new PortcullisError(ErrorCodes.CONFIG, 'the webhook certificate is not loaded yet');
    return this.tls;
  }

  onChange(listener: (tls: WebhookTls) => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }
}
