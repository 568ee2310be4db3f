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
import { MountedFiles } from './mounted-files.ts';

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

/** cert-manager mode: tls.crt, tls.key (and ca.crt) mounted in `dir`, re-read every `reloadMs` (mounted-files.ts). */
export class MountedCertificates implements WebhookTlsSource {
  readonly #files: MountedFiles<WebhookTls>;

  constructor(o: { dir: string; reloadMs: number; logger: Logger }) {
    this.#files = new MountedFiles({
      read: () => readMounted(o.dir),
      same: (a, b) => a.certPem === b.certPem && a.keyPem === b.keyPem && a.caPem === b.caPem,
      reloadMs: o.reloadMs,
      logger: o.logger.child({ dir: o.dir }),
      what: 'webhook certificate',
    });
  }

  start(): Promise<WebhookTls> {
    return this.#files.start();
  }

  current(): WebhookTls {
    const tls = this.#files.current();
    if (!tls) throw new PortcullisError(ErrorCodes.CONFIG, 'the webhook certificate is not loaded yet');
    return tls;
  }

  onChange(listener: (tls: WebhookTls) => void): void {
    this.#files.onChange(listener);
  }

  async stop(): Promise<void> {
    this.#files.stop();
  }
}
