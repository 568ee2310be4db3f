/**
 * What the controller reads from files a Secret volume mounts (cert-manager's
 * serving certificate, the approval proxy's CA), re-read every `reloadMs`:
 * the kubelet swaps the files in place when the Secret changes, so a renewal
 * or rotation reaches the running controller without a restart. A read that
 * fails (the files caught mid-swap, or gone) keeps what was loaded, and is
 * logged once per distinct problem rather than every interval.
 */
import type { Logger } from '../../telemetry/logger.ts';

export interface MountedFilesOptions<T> {
  /** Reads and checks the files; throws what is wrong (at start, that stops start-up). */
  read: () => Promise<T>;
  /** Whether two reads hold the same content (no change to announce). */
  same: (a: T, b: T) => boolean;
  reloadMs: number;
  logger: Logger;
  /** What the files hold, for the log lines: "webhook certificate", "approval proxy CA". */
  what: string;
}

export class MountedFiles<T> {
  #value: T | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastProblem: string | undefined;
  readonly #listeners: ((value: T) => void)[] = [];

  constructor(private readonly o: MountedFilesOptions<T>) {}

  /** The first read; then a re-read every `reloadMs` until stop(). */
  async start(): Promise<T> {
    const value = await this.o.read();
    this.#value = value;
    this.#timer = setInterval(() => void this.#reload(), this.o.reloadMs);
    this.#timer.unref();
    return value;
  }

  /** What was read last; undefined before start(). */
  current(): T | undefined {
    return this.#value;
  }

  /** Called with every changed content after start. */
  onChange(listener: (value: T) => void): void {
    this.#listeners.push(listener);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  async #reload(): Promise<void> {
    let next: T;
    try {
      next = await this.o.read();
    } catch (e) {
      const problem = (e as Error).message;
      if (problem !== this.#lastProblem) this.o.logger.warn({ err: problem }, `${this.o.what} files unreadable; keeping the one loaded`);
      this.#lastProblem = problem;
      return;
    }
    this.#lastProblem = undefined;
    if (this.#value !== undefined && this.o.same(next, this.#value)) return;
    this.#value = next;
    this.o.logger.info(`${this.o.what} reloaded from its files`);
    for (const l of this.#listeners) l(next);
  }
}
