/**
 * The append-only, hash-chained ledger (design.md §4).
 *
 * Group commit: appends made while a write is in flight wait and go out
 * together in the next durable write, so the cost of one sync is shared by
 * every append that arrived during the last one. The real file is open with
 * O_DSYNC, so that write and its sync are one system call (elsewhere a write
 * is followed by an fdatasync). An append resolves only after the write that
 * covers it is durable, which is what lets the gate hold an action until its
 * intent is durable.
 *
 * An outcome never needs an fsync of its own: its call has already run, and
 * no action waits for it. A batch of outcomes alone lingers up to
 * OUTCOME_LINGER_MS for the next intent and goes out in that intent's write +
 * fdatasync; on one connection this halves the fsyncs, and an intent no
 * longer queues behind the previous call's outcome. An outcome's append still
 * resolves only once it is durable. Intents never linger.
 *
 * Durability (`LedgerOptions.durability`): with `fsync`, the default, an
 * append resolves once its entry is on stable storage, and a call runs only
 * then: it survives the gate's crash, the node's and a power loss. With
 * `write`, the file is open without O_DSYNC and an append resolves once its
 * entry is written to the file (the kernel holds it): it survives the gate's
 * own crash (SIGKILL, OOM kill), and is made durable by an fdatasync at most
 * `syncIntervalMs` later; a kernel crash or power loss can lose the entries
 * of that last interval. The chain stays verifiable either way: a lost tail
 * shows as a ledger that ends early (and as a truncation against a witnessed
 * head).
 *
 * Chain positions (seq, prev) are assigned when a batch is written, not when
 * an append is queued: a batch that fails is cut off the file and leaves no
 * gap in the chain.
 *
 * Rotation: when the active file passes `maxFileBytes` it is renamed to
 * `<stem>.<NNNNNN><ext>` and a new active file is started; the first entry of
 * the new file chains to the last of the old one.
 */
import { basename, dirname, extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import { setLedgerHead, type PortcullisMetrics } from '../telemetry/metrics.ts';
import { canonicalJson, type KnownCanonical } from './canonical.ts';
import { GENESIS_HASH } from './hash.ts';
import { entryHash, parseEntry, sealEntryParts, writeParts, type EntryKind, type SealedParts } from './ledger-entry.ts';
import { nodeLedgerFs, type LedgerFile, type LedgerFs } from './ledger-fs.ts';
import type { LedgerHead, LedgerPosition } from './recorder.ts';
import type { HeadSigner } from './signing.ts';
import { readShippedHead } from './shipped-head.ts';

export interface LedgerOptions {
  /** The active file, e.g. `/var/lib/portcullis/ledger.jsonl`. */
  path: string;
  /** Rotate once the active file reaches this size; 0 never rotates. Default 64 MiB. */
  maxFileBytes?: number;
  /** Signs the last entry of every group commit. */
  signer?: HeadSigner;
  fs?: LedgerFs;
  metrics?: PortcullisMetrics;
  logger?: Logger;
  /** Told after each rotation (by size or by `seal`) has closed a segment: segment retention prunes then. */
  onRotate?: () => void;
  /** When an append resolves: once durable (`fsync`, the default) or once written (`write`). See the top of this file. */
  durability?: LedgerDurability;
  /** With `write` durability: the longest an entry waits for its fdatasync. Default 100 ms. */
  syncIntervalMs?: number;
}

/** What an append waits for before it resolves: stable storage, or the kernel (see the top of this file). */
export type LedgerDurability = 'fsync' | 'write';
export const DEFAULT_SYNC_INTERVAL_MS = 100;

interface Pending {
  kind: EntryKind;
  /** Canonical JSON of the record, UTF-8. */
  record: Buffer;
  resolve(p: LedgerPosition): void;
  reject(e: Error): void;
}

/** Where the chain stands: the last entry's position, and its signature when it has one. */
interface ChainHead {
  seq: number;
  hash: string;
  sig?: string;
}

/**
 * A write that failed for want of space wrote nothing durable and left the
 * file as it was once cut back: the ledger goes on when space returns. With
 * an O_DSYNC file any other failure may have been the sync's, and is
 * treated as a failed fsync.
 */
const NO_SPACE: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** What a failed append was doing: a write, an O_DSYNC write (write and sync in one), or the fsync after a write. */
type WriteStage = 'write' | 'write+sync' | 'fsync';

/** Entries per write; bounds the memory of one batch under a burst. */
const MAX_BATCH_ENTRIES = 8192;
const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** How long a batch of outcomes alone waits for an intent to share its fsync. */
export const OUTCOME_LINGER_MS = 20;

/** `ledger.jsonl` → `ledger.000007.jsonl`. */
export function segmentPath(activePath: string, n: number): string {
  const ext = extname(activePath);
  const stem = ext ? activePath.slice(0, -ext.length) : activePath;
  return `${stem}.${String(n).padStart(6, '0')}${ext}`;
}

/** Rotated segments of `activePath` in `names`, as [number, name] sorted by number. */
export function segmentsOf(activePath: string, names: string[]): Array<[number, string]> {
  const ext = extname(activePath);
  const base = basename(activePath);
  const stem = ext ? base.slice(0, -ext.length) : base;
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${escape(stem)}\\.(\\d{6,})${escape(ext)}$`);
  const out: Array<[number, string]> = [];
  for (const name of names) {
    const m = re.exec(name);
    if (m) out.push([Number(m[1]), name]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

function writeError(message: string, cause: unknown, details: Record<string, unknown>): PortcullisError {
  const code = (cause as NodeJS.ErrnoException)?.code;
  return new PortcullisError(
    ErrorCodes.LEDGER_WRITE,
    `${message}: ${(cause as Error)?.message ?? String(cause)}`,
    { ...details, ...(code ? { errno: code } : {}) },
    { cause },
  );
}

/** The last newline-terminated line of the first `size` bytes of a file, reading backwards from the end. */
export async function lastCompleteLine(file: LedgerFile, size: number): Promise<string | undefined> {
  let chunk = 64 * 1024;
  for (;;) {
    const start = Math.max(0, size - chunk);
    const buf = await file.read(start, size - start);
    const end = buf.lastIndexOf(0x0a);
    if (end < 0 && start === 0) return undefined;
    const nl = end <= 0 ? -1 : buf.lastIndexOf(0x0a, end - 1);
    if ((end < 0 || nl < 0) && start > 0) {
      chunk *= 4;
      continue;
    }
    return buf.subarray(nl + 1, end).toString('utf8');
  }
}

/** Finds the last complete line of a file, cutting off a torn (unterminated) tail left by a crash. */
async function recoverTail(file: LedgerFile, path: string, logger?: Logger): Promise<{ line: string | undefined; size: number }> {
  const size = await cutTornTail(file, path, logger);
  return { line: size === 0 ? undefined : await lastCompleteLine(file, size), size };
}

/** The file's size once an unterminated last line is cut off (and the cut made durable). */
async function cutTornTail(file: LedgerFile, path: string, logger?: Logger): Promise<number> {
  const size = await file.size();
  if (size === 0 || (await file.read(size - 1, 1))[0] === 0x0a) return size;
  const keep = await afterLastNewline(file, size);
  logger?.warn({ file: path, cut: size - keep }, 'ledger: cutting an unterminated last line left by an interrupted write');
  await file.truncate(keep);
  await file.datasync();
  return keep;
}

/** The offset just after the last newline in the first `size` bytes (0 when there is none), reading backwards from the end. */
async function afterLastNewline(file: LedgerFile, size: number): Promise<number> {
  for (let chunk = 64 * 1024; ; chunk *= 4) {
    const start = Math.max(0, size - chunk);
    const nl = (await file.read(start, size - start)).lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    if (start === 0) return 0;
  }
}

function headFromLine(line: string, path: string): { seq: number; hash: string; sig?: string } {
  const parsed = parseEntry(line);
  if (!parsed.ok || entryHash(parsed.entry) !== parsed.entry.hash) {
    throw new PortcullisError(
      ErrorCodes.LEDGER_CORRUPT,
      `the last entry of ${path} is corrupt (${parsed.ok ? 'hash mismatch' : parsed.problem}); run \`portcullis verify ${path}\` and move the file aside`,
      { file: path },
    );
  }
  return { seq: parsed.entry.seq, hash: parsed.entry.hash, ...(parsed.entry.sig ? { sig: parsed.entry.sig } : {}) };
}

export class Ledger {
  readonly path: string;
  readonly #fs: LedgerFs;
  readonly #maxFileBytes: number;
  readonly #signer: HeadSigner | undefined;
  readonly #metrics: PortcullisMetrics | undefined;
  readonly #logger: Logger | undefined;
  readonly #onRotate: (() => void) | undefined;
  readonly #durability: LedgerDurability;
  readonly #syncIntervalMs: number;
  /** `write` durability: entries written since the last fdatasync, the timer that will sync them, and a sync in flight. */
  #unsynced = false;
  #syncTimer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  /** The last entry an fdatasync covered (`write` durability), named when a sync fails. */
  #syncedSeq: number;
  #file: LedgerFile;
  #size: number;
  #seq: number;
  #hash: string;
  #sig: string | undefined;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  /** Ends the wait of lingering outcomes (an intent arrived, or a caller waits for the ledger). */
  #wake: (() => void) | undefined;
  /** Callers waiting for the ledger to drain: while any waits, outcomes do not linger. */
  #draining = 0;
  /** Set when the file can no longer be trusted to match memory (fsync or truncate failed). */
  #broken: PortcullisError | undefined;
  #closed = false;

  private constructor(options: LedgerOptions, fs: LedgerFs, file: LedgerFile, found: { size: number; head: ChainHead }) {
    const { size, head } = found;
    this.path = options.path;
    this.#fs = fs;
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.#signer = options.signer;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#onRotate = options.onRotate;
    this.#durability = options.durability ?? 'fsync';
    this.#syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    this.#file = file;
    this.#size = size;
    this.#seq = head.seq;
    this.#hash = head.hash;
    this.#sig = head.sig;
    this.#syncedSeq = head.seq;
  }

  /** Opens (or creates) the ledger and finds its head; throws LEDGER_WRITE when the file cannot be opened, LEDGER_CORRUPT when its tail is broken. */
  static async open(options: LedgerOptions): Promise<Ledger> {
    const fs = options.fs ?? nodeLedgerFs;
    const file = await Ledger.#openFile(fs, options.path, options.durability !== 'write');
    try {
      const { line, size } = await recoverTail(file, options.path, options.logger);
      const head = line !== undefined ? headFromLine(line, options.path) : await Ledger.#headBefore(fs, options.path);
      const ledger = new Ledger(options, fs, file, { size, head });
      if (options.metrics && head.seq >= 0) {
        setLedgerHead(options.metrics, head.seq, head.hash);
        options.metrics.ledgerSyncedSeq.set(head.seq);
      }
      options.metrics?.ledgerFileBytes.set(size);
      return ledger;
    } catch (e) {
      await file.close().catch(() => undefined);
      if (e instanceof PortcullisError) throw e;
      throw writeError(`cannot read the ledger ${options.path}`, e, { file: options.path });
    }
  }

  /** Opens the active file for appending, creating it (and making its name durable) when absent. */
  static async #openFile(fs: LedgerFs, path: string, syncOnWrite: boolean): Promise<LedgerFile> {
    const dir = dirname(path);
    try {
      await fs.mkdirp(dir);
      const existed = await fs.exists(path);
      const file = await fs.openAppend(path, { syncOnWrite });
      if (!existed) await fs.syncDir(dir);
      return file;
    } catch (e) {
      throw writeError(`cannot open the ledger ${path}`, e, { file: path });
    }
  }

  /** An empty active file continues the last rotated segment, or the head last shipped, or starts the chain. */
  static async #headBefore(fs: LedgerFs, path: string): Promise<ChainHead> {
    return (await Ledger.#headOfLastSegment(fs, path)) ?? (await readShippedHead(path)) ?? { seq: -1, hash: GENESIS_HASH };
  }

  static async #headOfLastSegment(fs: LedgerFs, path: string): Promise<{ seq: number; hash: string } | undefined> {
    const segments = segmentsOf(path, await fs.list(dirname(path)));
    const last = segments.at(-1);
    if (!last) return undefined;
    const segPath = join(dirname(path), last[1]);
    const file = await fs.openRead(segPath);
    try {
      // Segments are complete files: they were renamed after a successful fsync.
      const line = await lastCompleteLine(file, await file.size());
      return line === undefined ? undefined : headFromLine(line, segPath);
    } finally {
      await file.close();
    }
  }

  /** The last durable entry. */
  head(): LedgerHead | undefined {
    if (this.#seq < 0) return undefined;
    return {
      seq: this.#seq,
      hash: this.#hash,
      file: this.path,
      ...(this.#sig ? { signature: this.#sig } : {}),
      ...(this.#signer ? { keyId: this.#signer.keyId } : {}),
    };
  }

  /**
   * Appends a record; resolves with its position once it is durable.
   * `known` holds canonical texts already computed for objects inside it.
   */
  append(kind: EntryKind, record: unknown, known?: KnownCanonical): Promise<LedgerPosition> {
    if (this.#closed) return Promise.reject(new PortcullisError(ErrorCodes.LEDGER_WRITE, `the ledger ${this.path} is closed`));
    if (this.#broken) return Promise.reject(this.#broken);
    let bytes: Buffer;
    try {
      bytes = Buffer.from(canonicalJson(record, known), 'utf8');
    } catch (e) {
      return Promise.reject(writeError('the record cannot be written as JSON', e, { kind }));
    }
    return new Promise<LedgerPosition>((resolve, reject) => {
      this.#pending.push({ kind, record: bytes, resolve, reject });
      if (kind === 'intent') this.#hurry();
      this.#flushing ??= this.#flushLoop();
    });
  }

  /** Lets lingering outcomes go now. */
  #hurry(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Waits for every write in flight and queued, outcomes going at once (idle, seal, close). */
  async #drained(): Promise<void> {
    this.#draining++;
    this.#hurry();
    try {
      while (this.#flushing) await this.#flushing;
    } finally {
      this.#draining--;
    }
  }

  /** Waits until an intent is queued, someone waits for the ledger, or OUTCOME_LINGER_MS pass. */
  async #linger(): Promise<void> {
    // With `write` durability there is no fsync to share: outcomes go at once.
    if (this.#durability === 'write' || this.#draining > 0 || this.#pending.some((p) => p.kind === 'intent')) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#hurry(), OUTCOME_LINGER_MS);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #flushLoop(): Promise<void> {
    // Let appends made in the same tick join the first batch.
    await Promise.resolve();
    try {
      while (this.#pending.length > 0) {
        await this.#linger();
        await this.#flushBatch(this.#pending.splice(0, MAX_BATCH_ENTRIES));
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  /** Commits one batch (refused whole once the ledger is broken), then rotates when the file is full. */
  async #flushBatch(batch: Pending[]): Promise<void> {
    if (this.#broken) {
      for (const p of batch) p.reject(this.#broken);
      return;
    }
    await this.#commit(batch);
    if (this.#maxFileBytes > 0 && this.#size >= this.#maxFileBytes && !this.#broken) await this.#rotate();
  }

  async #commit(batch: Pending[]): Promise<void> {
    const sealed = this.#seal(batch);
    const bytes = writeParts(sealed.lines);
    const started = performance.now();
    const error = await this.#writeDurably(bytes);
    if (error) {
      for (const p of batch) {
        this.#metrics?.ledgerErrors.inc({ kind: p.kind });
        p.reject(error);
      }
      return;
    }
    this.#size += bytes.byteLength;
    this.#seq = sealed.head.seq;
    this.#hash = sealed.head.hash;
    this.#sig = sealed.head.sig;
    this.#countCommit(batch, performance.now() - started);
    batch.forEach((p, i) => p.resolve(sealed.positions[i]!));
  }

  /** The batch's lines, chained from the head; the last one signed when a signer is set. */
  #seal(batch: Pending[]): { lines: SealedParts[]; positions: LedgerPosition[]; head: ChainHead } {
    const lines: SealedParts[] = [];
    let head: ChainHead = { seq: this.#seq, hash: this.#hash };
    const last = batch.length - 1;
    batch.forEach((p, i) => {
      const sealed = sealEntryParts(p.kind, p.record, { seq: head.seq + 1, prev: head.hash }, i === last ? this.#signer?.sign : undefined);
      lines.push(sealed);
      head = { seq: sealed.seq, hash: sealed.hash, ...(sealed.sig !== undefined ? { sig: sealed.sig } : {}) };
    });
    return { lines, positions: lines.map((l) => ({ seq: l.seq, hash: l.hash })), head };
  }

  #countCommit(batch: Pending[], elapsedMs: number): void {
    const m = this.#metrics;
    if (!m) return;
    m.ledgerFsyncSeconds.observe(elapsedMs / 1000);
    m.ledgerBatchSize.observe(batch.length);
    const intents = batch.filter((p) => p.kind === 'intent').length;
    if (intents > 0) m.ledgerAppends.inc({ kind: 'intent' }, intents);
    if (batch.length > intents) m.ledgerAppends.inc({ kind: 'outcome' }, batch.length - intents);
    setLedgerHead(m, this.#seq, this.#hash);
    if (this.#durability === 'fsync') m.ledgerSyncedSeq.set(this.#seq);
    m.ledgerFileBytes.set(this.#size);
  }

  /**
   * Writes the batch and makes it durable (`fsync`), or schedules its sync
   * (`write`); on failure cuts the file back to its last good size. Returns
   * the error, if any.
   */
  async #writeDurably(bytes: Buffer): Promise<PortcullisError | undefined> {
    const syncsOnWrite = this.#file.syncsOnWrite === true;
    let stage: WriteStage = syncsOnWrite ? 'write+sync' : 'write';
    try {
      await this.#appendAll(bytes);
      if (this.#durability === 'write') {
        this.#syncLater();
        return undefined;
      }
      if (!syncsOnWrite) {
        stage = 'fsync';
        await this.#file.datasync();
      }
      return undefined;
    } catch (e) {
      return this.#writeFailed(e, stage);
    }
  }

  /** `write` durability: an fdatasync of what is written now, at most `syncIntervalMs` from now. */
  #syncLater(): void {
    this.#unsynced = true;
    if (this.#syncTimer) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      void this.#synced();
    }, this.#syncIntervalMs);
  }

  /**
   * Makes every entry written so far durable (`write` durability), waiting
   * for a sync in flight first. A failed sync breaks the ledger, as a failed
   * fsync of a commit does, and names the entries that may not be on disk.
   */
  async #synced(): Promise<void> {
    while (this.#syncing) await this.#syncing;
    if (!this.#unsynced || this.#broken) return;
    this.#unsynced = false;
    const covered = this.#seq;
    const started = performance.now();
    this.#syncing = this.#file.datasync().then(
      () => {
        this.#syncedSeq = covered;
        this.#metrics?.ledgerSyncSeconds.observe((performance.now() - started) / 1000);
        this.#metrics?.ledgerSyncedSeq.set(covered);
      },
      (e: unknown) => {
        this.#broken = writeError(`cannot sync the ledger ${this.path} (fsync failed)`, e, { file: this.path, stage: 'fsync' });
        this.#logger?.error({ err: this.#broken, file: this.path, syncedSeq: this.#syncedSeq, seq: covered }, 'ledger sync failed: the entries after syncedSeq were acknowledged but may not be on disk');
      },
    );
    try {
      await this.#syncing;
    } finally {
      this.#syncing = undefined;
    }
  }

  /** Before the file is closed or renamed: nothing written is left unsynced, and no timer is left. */
  async #syncAll(): Promise<void> {
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    await this.#synced();
  }

  async #appendAll(bytes: Buffer): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) {
      const n = await this.#file.append(bytes.subarray(off));
      if (n <= 0) throw Object.assign(new Error('short write: no bytes written'), { code: 'EIO' });
      off += n;
    }
  }

  /** Cuts the file back after a failed write; a failure that may have been a sync's breaks the ledger until it is reopened. */
  async #writeFailed(e: unknown, stage: WriteStage): Promise<PortcullisError> {
    const error = writeError(`cannot append to the ledger ${this.path} (${stage} failed)`, e, { file: this.path, stage });
    try {
      await this.#file.truncate(this.#size);
      // After a failed sync the kernel may have dropped dirty pages: the
      // file's state is unknown, so stop until the ledger is reopened.
      if (stage === 'fsync' || (stage === 'write+sync' && !NO_SPACE.has((e as NodeJS.ErrnoException)?.code ?? ''))) this.#broken = error;
    } catch (te) {
      this.#broken = writeError(`the ledger ${this.path} could not be cut back after a failed ${stage}`, te, { file: this.path });
    }
    this.#logger?.error({ err: error, file: this.path, broken: this.#broken !== undefined }, 'ledger append failed');
    return error;
  }

  async #rotate(): Promise<void> {
    const dir = dirname(this.path);
    try {
      const segments = segmentsOf(this.path, await this.#fs.list(dir));
      const next = (segments.at(-1)?.[0] ?? 0) + 1;
      await this.#syncAll();
      if (this.#broken) throw this.#broken;
      await this.#file.close();
      await this.#fs.rename(this.path, segmentPath(this.path, next));
      this.#file = await this.#fs.openAppend(this.path, { syncOnWrite: this.#durability !== 'write' });
      await this.#fs.syncDir(dir);
      this.#size = 0;
      this.#metrics?.ledgerRotations.inc();
      this.#metrics?.ledgerFileBytes.set(0);
      this.#logger?.info({ file: this.path, segment: next, seq: this.#seq }, 'ledger rotated');
    } catch (e) {
      this.#broken = writeError(`cannot rotate the ledger ${this.path}`, e, { file: this.path });
      this.#logger?.error({ err: this.#broken }, 'ledger rotation failed');
      return;
    }
    this.#onRotate?.();
  }

  /**
   * Closes the active file as a segment now (when it holds any entry), as a
   * rotation does: at shutdown, so that the last entries can be shipped, and
   * when the open segment has aged. Appends made meanwhile wait and go into the
   * new active file. Resolves true when a segment was closed.
   */
  async seal(): Promise<boolean> {
    await this.#drained();
    if (this.#closed || this.#broken || this.#size === 0) return false;
    let rotated = false;
    const sealing = (async () => {
      await this.#rotate();
      rotated = !this.#broken;
    })();
    this.#flushing = sealing.finally(() => {
      this.#flushing = this.#pending.length > 0 ? this.#flushLoop() : undefined;
    });
    await sealing;
    return rotated;
  }

  /** Resolves once no write or rotation is in flight (appends already resolved may still be rotating the file). */
  async idle(): Promise<void> {
    await this.#drained();
    while (this.#syncing) await this.#syncing;
  }

  /** Bytes in the active file (0 right after a rotation). */
  get activeBytes(): number {
    return this.#size;
  }

  /** True when the ledger refuses appends until reopened. */
  get broken(): PortcullisError | undefined {
    return this.#broken;
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#drained();
    this.#closed = true;
    await this.#syncAll();
    await this.#file.close().catch(() => undefined);
  }
}
