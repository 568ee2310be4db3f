/**
 * The ledger-backed EvidenceRecorder. It owns the ledger's life: a ledger that
 * cannot be opened (read-only or missing disk) or that broke (failed fsync)
 * makes every append fail with LEDGER_WRITE, and is reopened at most once per
 * `reopenIntervalMs`, so that traffic recovers by itself once the disk does.
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import { Ledger, type LedgerOptions } from './ledger.ts';
import type { EntryKind } from './ledger-entry.ts';
import type { KnownCanonical } from './canonical.ts';
import type { EvidenceRecorder, IntentRecord, LedgerHead, LedgerPosition, OutcomeRecord } from './recorder.ts';
import type { CompiledBundle } from '../policy/types.ts';
import { storeBundle } from './bundle-store.ts';

export interface LedgerRecorderOptions extends LedgerOptions {
  /**
   * Archives each policy that decides something into `dir` (see
   * bundle-store.ts), so that replay finds the recorded policy by itself.
   * `current` is the engine's loaded bundle.
   */
  bundles?: { dir: string; current: () => CompiledBundle | undefined };
  /** Least time between two attempts to reopen a failed ledger. Default 1000 ms. */
  reopenIntervalMs?: number;
  /** Injectable clock (ms). */
  now?: () => number;
  metrics?: PortcullisMetrics;
  logger?: Logger;
}

function toWriteError(e: unknown): PortcullisError {
  if (e instanceof PortcullisError) {
    if (e.code === ErrorCodes.LEDGER_WRITE) return e;
    return new PortcullisError(ErrorCodes.LEDGER_WRITE, e.message, e.details, { cause: e });
  }
  return new PortcullisError(ErrorCodes.LEDGER_WRITE, `ledger unavailable: ${(e as Error)?.message ?? String(e)}`, undefined, { cause: e });
}

export class LedgerRecorder implements EvidenceRecorder {
  readonly #options: LedgerRecorderOptions;
  readonly #now: () => number;
  #ledger: Ledger | undefined;
  #opening: Promise<Ledger> | undefined;
  #lastError: PortcullisError | undefined;
  #lastAttempt = -Infinity;
  #lastHead: LedgerHead | undefined;
  #closed = false;
  /** Appends refused since the ledger became unwritable, for the recovery log line. */
  #refused = 0;
  /** Policy digests already archived (or being archived). */
  readonly #stored = new Set<string>();

  constructor(options: LedgerRecorderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Opens the ledger now, so that start-up reports a bad path at once; the recorder stays usable (failing) if it cannot. */
  async open(): Promise<void> {
    await this.#get();
  }

  /** Why appends currently fail, if they do. */
  get lastError(): PortcullisError | undefined {
    return this.#ledger && !this.#ledger.broken ? undefined : this.#lastError;
  }

  async #get(): Promise<Ledger> {
    if (this.#closed) throw new PortcullisError(ErrorCodes.LEDGER_WRITE, 'the evidence recorder is closed');
    const current = this.#ledger;
    if (current && !current.broken) return current;
    if (current?.broken) {
      this.#lastError = current.broken;
      this.#ledger = undefined;
      await current.close().catch(() => undefined);
    }
    if (this.#opening) return this.#opening;
    const interval = this.#options.reopenIntervalMs ?? 1000;
    if (this.#lastError && this.#now() - this.#lastAttempt < interval) throw this.#lastError;
    this.#lastAttempt = this.#now();
    this.#opening = Ledger.open(this.#options).then(
      (ledger) => {
        this.#ledger = ledger;
        this.#lastError = undefined;
        this.#opening = undefined;
        return ledger;
      },
      (e: unknown) => {
        this.#opening = undefined;
        this.#lastError = toWriteError(e);
        this.#options.logger?.error({ err: this.#lastError }, 'ledger cannot be opened');
        throw this.#lastError;
      },
    );
    return this.#opening;
  }

  async #append(kind: EntryKind, record: unknown, known?: KnownCanonical): Promise<LedgerPosition> {
    let ledger: Ledger;
    try {
      ledger = await this.#get();
    } catch (e) {
      this.#options.metrics?.ledgerErrors.inc({ kind });
      this.#refused++;
      throw toWriteError(e);
    }
    try {
      const position = await ledger.append(kind, record, known);
      if (this.#refused > 0) {
        this.#options.logger?.warn({ file: this.#options.path, refused: this.#refused }, 'ledger writable again');
        this.#refused = 0;
      }
      return position;
    } catch (e) {
      this.#refused++;
      throw toWriteError(e);
    } finally {
      this.#lastHead = ledger.head() ?? this.#lastHead;
    }
  }

  async intent(record: IntentRecord, known?: KnownCanonical): Promise<LedgerPosition> {
    const position = await this.#append('intent', record, known);
    this.#storeBundle(record.policyDigest);
    return position;
  }

  /** Archives the policy that made this decision, once, off the decision's path. */
  #storeBundle(digest: string): void {
    const store = this.#options.bundles;
    if (!store || !digest || this.#stored.has(digest)) return;
    const bundle = store.current();
    // Reloaded since: a later decision by the same digest will find it, if any.
    if (bundle?.digest !== digest) return;
    this.#stored.add(digest);
    storeBundle(store.dir, bundle).catch((e: unknown) => {
      this.#stored.delete(digest);
      this.#options.logger?.warn({ err: e, digest, dir: store.dir }, 'the recorded policy could not be archived beside the ledger');
    });
  }

  async outcome(record: OutcomeRecord): Promise<void> {
    await this.#append('outcome', record);
  }

  head(): LedgerHead | undefined {
    return this.#ledger?.head() ?? this.#lastHead;
  }

  /** Closes the active file as a segment (see `Ledger.seal`); false when there was nothing to close or no usable ledger. */
  async seal(): Promise<boolean> {
    if (this.#closed) return false;
    const ledger = await this.#get().catch(() => undefined);
    return ledger ? ledger.seal() : false;
  }

  /** Resolves once the ledger has no write or rotation in flight. */
  async idle(): Promise<void> {
    await this.#ledger?.idle();
  }

  /** Bytes in the active file; 0 when none is open. */
  activeBytes(): number {
    return this.#ledger?.activeBytes ?? 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const opening = this.#opening;
    if (opening) await opening.catch(() => undefined);
    await this.#ledger?.close();
  }
}

/** Creates a ledger recorder and tries to open its ledger at once. */
export async function createLedgerRecorder(options: LedgerRecorderOptions): Promise<LedgerRecorder> {
  const recorder = new LedgerRecorder(options);
  await recorder.open().catch(() => undefined);
  return recorder;
}
