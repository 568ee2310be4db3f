/**
 * The approval proxy's client CA, read from its file (the chart mounts the
 * Secret `approvals.proxy.clientCaSecret`) and re-read every `reloadMs`:
 * when the platform rotates that CA, the kubelet updates the file and the
 * listener trusts the new CA without a restart. A file that cannot be read
 * or holds no certificate keeps the CA loaded (a Secret is swapped in one
 * step, but a hand-edited file may be caught halfway), and says so once per
 * change.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';

const SETTING = 'PORTCULLIS_APPROVAL_PROXY_CA_FILE';

/** The PEM text when it holds at least one certificate; throws with what is wrong otherwise. */
async function readCa(path: string): Promise<string> {
  const pem = await readFile(path, 'utf8');
  // X509Certificate reads the first certificate of a bundle: enough to tell a CA file from anything else.
  new X509Certificate(pem);
  return pem;
}

export class ClientCaFile {
  #pem: string;
  #timer: NodeJS.Timeout | undefined;
  #lastProblem: string | undefined;
  readonly #listeners: ((pem: string) => void)[] = [];

  private constructor(
    private readonly o: { path: string; reloadMs: number; logger: Logger },
    pem: string,
  ) {
    this.#pem = pem;
  }

  /** Reads the CA once (CONFIG naming the setting when it cannot) and re-reads it every `reloadMs`. */
  static async open(o: { path: string; reloadMs: number; logger: Logger }): Promise<ClientCaFile> {
    const pem = await readCa(o.path).catch((e: unknown) => {
      throw new PortcullisError(ErrorCodes.CONFIG, `${SETTING}=${o.path}: ${(e as Error).message}; give the PEM of the CA that signs the authenticating proxy's client certificate`, { setting: SETTING });
    });
    const file = new ClientCaFile(o, pem);
    file.#timer = setInterval(() => void file.#reload(), o.reloadMs);
    file.#timer.unref();
    return file;
  }

  get pem(): string {
    return this.#pem;
  }

  onChange(listener: (pem: string) => void): void {
    this.#listeners.push(listener);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  async #reload(): Promise<void> {
    let next: string;
    try {
      next = await readCa(this.o.path);
    } catch (e) {
      const problem = (e as Error).message;
      if (problem !== this.#lastProblem) this.o.logger.warn({ file: this.o.path, err: problem }, 'approval proxy CA file unreadable; keeping the CA loaded');
      this.#lastProblem = problem;
      return;
    }
    this.#lastProblem = undefined;
    if (next === this.#pem) return;
    this.#pem = next;
    this.o.logger.info({ file: this.o.path }, 'approval proxy CA reloaded from its file: client certificates it signs are accepted from now on');
    for (const l of this.#listeners) l(next);
  }
}
