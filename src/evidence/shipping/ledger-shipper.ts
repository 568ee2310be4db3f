/**
 * Ships a ledger off the pod's volume into object storage, so that its
 * evidence outlives the pod (design.md §4):
 *
 * - every closed segment is uploaded under `PREFIX/segments/<first>-<last>.jsonl`
 *   with its SHA-256 signed into the request and Content-MD5, never over an
 *   object already there (`If-None-Match: *`), confirmed by a HEAD (size,
 *   ETag = MD5, the SHA-256 kept as metadata), and only then deleted locally,
 *   oldest first;
 * - on each tick the current head (seq, hash, signature) is written to
 *   `PREFIX/head.json` and sent to the witness, which keeps it beyond the
 *   pod's life: a ledger later found shorter than its witnessed head was cut;
 * - an open segment older than `segmentMaxAgeMs` is closed, so a quiet pod's
 *   entries do not wait for 64 MiB before they leave;
 * - at shutdown the open segment is closed and everything is shipped within
 *   the grace period left.
 *
 * Shipping never holds a decision: it runs beside the gate, and while the
 * store is unreachable segments wait on the volume
 * (`portcullis_ledger_segments_waiting`, one warning per outage, retries
 * backing off to `retryMaxMs`). What happens when the volume fills is the
 * ledger's own rule: LEDGER_WRITE, and enforce mode refuses the call.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { PortcullisMetrics } from '../../telemetry/metrics.ts';
import { segmentsOf } from '../ledger.ts';
import { nodeLedgerFs } from '../ledger-fs.ts';
import type { LedgerHead } from '../recorder.ts';
import { writeShippedHead } from '../shipped-head.ts';
import { bodyDigests, type S3Client } from './s3-client.ts';
import { formatS3Url, type S3Location } from './s3-url.ts';
import { digestSegment, segmentObjectName, type SegmentDigest } from './segment-digest.ts';
import type { HeadWitness, WitnessedHead } from './witnessed-head.ts';

/** The part of the evidence recorder the shipper drives. */
export interface ShippedLedger {
  /** The active ledger file; closed segments are its numbered siblings. */
  readonly path: string;
  head(): LedgerHead | undefined;
  /** Closes the active file as a segment; true when one was closed. */
  seal(): Promise<boolean>;
  /** Bytes in the active file. */
  activeBytes(): number;
  /** Resolves once no append is waiting or being written (outcomes waiting for an fsync to share go at once). */
  idle?(): Promise<void>;
}

export interface LedgerShipperOptions {
  ledger: ShippedLedger;
  client: S3Client;
  /** This pod's folder: segments and head.json go under it. */
  destination: S3Location;
  /** Who this ledger belongs to, as the witness records it. */
  identity: { namespace: string; pod: string; uid?: string };
  witness?: HeadWitness;
  /** The recorded policies beside the ledger (bundle-store.ts): shipped under `bundles/`, kept locally. */
  bundlesDir?: string;
  /** Between two ticks (upload waiting segments, publish the head). Default 5000. */
  intervalMs?: number;
  /** Close the open segment once it is this old and holds entries; 0 never. Default 300000. */
  segmentMaxAgeMs?: number;
  /** Longest wait between attempts while the store is failing. Default 30000. */
  retryMaxMs?: number;
  metrics?: PortcullisMetrics;
  logger?: Logger;
  now?: () => number;
}

export interface ShipReport {
  /** Segments confirmed in the store and deleted locally. */
  shipped: number;
  /** Closed segments still on the volume. */
  waiting: number;
  /** The last head published and witnessed, if any. */
  witnessedSeq?: number;
  error?: PortcullisError;
}

function asError(e: unknown): PortcullisError {
  if (e instanceof PortcullisError) return e;
  return new PortcullisError(ErrorCodes.OBJECT_STORE, (e as Error)?.message ?? String(e), undefined, { cause: e });
}

/** Whether `p` is the head `head` (same sequence number and hash). */
function sameHead(p: { seq: number; hash: string } | undefined, head: { seq: number; hash: string }): boolean {
  return p?.seq === head.seq && p.hash === head.hash;
}

export class LedgerShipper {
  readonly #o: LedgerShipperOptions;
  readonly #now: () => number;
  readonly #dir: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<ShipReport> | undefined;
  #stopped = false;
  #failing = false;
  #delayMs: number;
  #openedAt: number;
  #published: { seq: number; hash: string } | undefined;
  #witnessed: { seq: number; hash: string } | undefined;
  /**
   * At shutdown, the head of the last segment sealed: what the final rounds
   * ship, and so the head they witness. An entry appended after it (a call
   * finishing late) stays in the active file for the next start; witnessing
   * it now would make the store look cut short.
   */
  #finalHead: LedgerHead | undefined;
  /** Set when the witness said it keeps no heads at all: asking again every round would only fill the log. */
  #noWitness = false;
  readonly #shippedBundles = new Set<string>();

  constructor(options: LedgerShipperOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#dir = dirname(options.ledger.path);
    this.#delayMs = options.intervalMs ?? 5000;
    this.#openedAt = this.#now();
  }

  get destination(): string {
    return formatS3Url(this.#o.destination);
  }

  /** Starts ticking; the first tick runs at once (segments left by an earlier run leave first). */
  start(): void {
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.tick().then((r) => {
        const interval = this.#o.intervalMs ?? 5000;
        this.#delayMs = r.error ? Math.min(this.#o.retryMaxMs ?? 30_000, Math.max(interval, this.#delayMs * 2)) : interval;
        this.#schedule(this.#delayMs);
      });
    }, ms);
    this.#timer.unref();
  }

  /** One round: close an aged segment, upload what waits, publish and witness the head. Never throws. */
  tick(): Promise<ShipReport> {
    this.#running ??= this.#round().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #round(): Promise<ShipReport> {
    const report: ShipReport = { shipped: 0, waiting: 0 };
    const errors: PortcullisError[] = [];
    try {
      await this.#sealAged();
      await this.#shipSegments(report);
      await this.#shipBundles();
    } catch (e) {
      errors.push(asError(e));
    }
    // The head is witnessed even while the store is down: the witness is what shows segments missing later.
    errors.push(...(await this.#publishHead()));
    if (errors.length > 0) report.error = errors[0];
    this.#logHealth(report);
    if (this.#witnessed) report.witnessedSeq = this.#witnessed.seq;
    return report;
  }

  /** Closes the open segment once it is older than segmentMaxAgeMs, so that a quiet ledger still ships. */
  async #sealAged(): Promise<void> {
    const maxAge = this.#o.segmentMaxAgeMs ?? 300_000;
    // An empty active file (just rotated by size) starts its age now.
    if (this.#o.ledger.activeBytes() === 0) {
      this.#openedAt = this.#now();
      return;
    }
    if (maxAge <= 0 || this.#now() - this.#openedAt < maxAge) return;
    if (this.#o.ledger.activeBytes() > 0) await this.#o.ledger.seal();
    this.#openedAt = this.#now();
  }

  /** One warning when shipping starts failing, one line when it recovers: not one per round. */
  #logHealth(report: ShipReport): void {
    if (report.error && !this.#failing) {
      this.#failing = true;
      this.#o.logger?.warn(
        { err: report.error, destination: this.destination, waiting: report.waiting },
        'ledger shipping failed: segments wait on the volume and are retried; decisions go on (the volume filling up makes the ledger refuse writes)',
      );
    } else if (!report.error && this.#failing) {
      this.#failing = false;
      this.#o.logger?.info({ destination: this.destination, shipped: report.shipped }, 'ledger shipping: the object store is reachable again; waiting segments were uploaded');
    }
  }

  async #waitingSegments(): Promise<string[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    return segmentsOf(this.#o.ledger.path, names).map(([, name]) => join(this.#dir, name));
  }

  async #shipSegments(report: ShipReport): Promise<void> {
    const segments = await this.#waitingSegments();
    report.waiting = segments.length;
    this.#o.metrics?.ledgerSegmentsWaiting.set(segments.length);
    // Oldest first, so the store never holds a later segment without the earlier ones unless one failed.
    for (const path of segments) {
      try {
        await this.#shipOne(path);
      } catch (e) {
        this.#o.metrics?.ledgerShipFailures.inc({ what: 'segment' });
        throw e;
      }
      report.shipped++;
      report.waiting--;
      this.#o.metrics?.ledgerSegmentsWaiting.set(report.waiting);
    }
  }

  async #shipOne(path: string): Promise<void> {
    const { client, destination: dest } = this.#o;
    const d = await digestSegment(path);
    const started = performance.now();
    let key = dest.prefix + segmentObjectName(d);
    let confirmed = await this.#matches(key, d);
    if (confirmed === 'other') {
      // Another history already holds this name (a pod name reused): keep both, never overwrite.
      key = dest.prefix + segmentObjectName(d, '.' + d.sha256.slice(0, 16));
      confirmed = await this.#matches(key, d);
    }
    if (confirmed !== 'same') {
      const body = { data: () => createReadStream(path), size: d.size, sha256: d.sha256, md5: d.md5, contentType: 'application/x-ndjson', metadata: { sha256: d.sha256, 'first-seq': String(d.firstSeq), 'last-seq': String(d.lastSeq), 'last-hash': d.lastHash } };
      await client.putObjectIfAbsent(dest.bucket, key, body);
      if ((await this.#matches(key, d)) !== 'same') {
        throw new PortcullisError(
          ErrorCodes.SHIP_UNCONFIRMED,
          `the upload of ${basename(path)} to ${formatS3Url({ bucket: dest.bucket, prefix: '' }, key)} could not be confirmed (size, ETag or SHA-256 differ from the local file); the segment is kept and uploaded again`,
          { file: path, key },
        );
      }
    }
    const seconds = (performance.now() - started) / 1000;
    await writeShippedHead(this.#o.ledger.path, { seq: d.lastSeq, hash: d.lastHash, location: formatS3Url({ bucket: dest.bucket, prefix: '' }, key) });
    await unlink(path);
    await nodeLedgerFs.syncDir(this.#dir);
    this.#o.metrics?.ledgerShippedSegments.inc();
    this.#o.metrics?.ledgerShippedBytes.inc(d.size);
    this.#o.metrics?.ledgerShipSeconds.observe(seconds);
    this.#o.logger?.info({ segment: basename(path), key, bytes: d.size, firstSeq: d.firstSeq, lastSeq: d.lastSeq, seconds }, 'ledger segment shipped and removed from the volume');
  }

  /** Policies that decided, so that a shipped ledger can be replayed without the pod (content-addressed: never overwritten). */
  async #shipBundles(): Promise<void> {
    const dir = this.#o.bundlesDir;
    if (!dir) return;
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}\.tar\.gz$/.test(n) && !this.#shippedBundles.has(n));
    for (const name of names) {
      const data = await readFile(join(dir, name));
      try {
        await this.#o.client.putObjectIfAbsent(this.#o.destination.bucket, `${this.#o.destination.prefix}bundles/${name}`, { data, ...bodyDigests(data), contentType: 'application/gzip' });
      } catch (e) {
        this.#o.metrics?.ledgerShipFailures.inc({ what: 'bundle' });
        throw e;
      }
      this.#shippedBundles.add(name);
    }
  }

  /** Whether `key` holds exactly this segment ('same'), something else ('other'), or nothing ('absent'). */
  async #matches(key: string, d: SegmentDigest): Promise<'same' | 'other' | 'absent'> {
    const info = await this.#o.client.headObject(this.#o.destination.bucket, key);
    if (!info) return 'absent';
    const etagOk = !/^[0-9a-f]{32}$/.test(info.etag) || info.etag === d.md5Hex;
    return info.size === d.size && etagOk && info.metadata.sha256 === d.sha256 ? 'same' : 'other';
  }

  /** Sends the head to the witness and writes head.json, each when it changed; returns what failed. */
  async #publishHead(): Promise<PortcullisError[]> {
    const head = this.#finalHead ?? this.#o.ledger.head();
    if (!head) return [];
    const at: WitnessedHead = {
      ...this.#o.identity,
      seq: head.seq,
      hash: head.hash,
      ...(head.signature ? { signature: head.signature } : {}),
      ...(head.keyId ? { keyId: head.keyId } : {}),
      time: new Date(this.#now()).toISOString(),
    };
    const errors = [await this.#sendToWitness(at), await this.#writeHeadJson(at)];
    return errors.filter((e): e is PortcullisError => e !== undefined);
  }

  /**
   * Sends a head the witness has not seen. A witness that refuses heads for
   * good (HEAD_NOT_WITNESSED) is logged once and no longer asked; other
   * failures are returned and retried next round.
   */
  async #sendToWitness(at: WitnessedHead): Promise<PortcullisError | undefined> {
    if (!this.#o.witness || this.#noWitness || sameHead(this.#witnessed, at)) return undefined;
    try {
      await this.#o.witness.send(at);
      this.#witnessed = { seq: at.seq, hash: at.hash };
      this.#o.metrics?.ledgerWitnessedSeq.set(at.seq);
      return undefined;
    } catch (e) {
      this.#o.metrics?.ledgerShipFailures.inc({ what: 'witness' });
      const err = asError(e);
      if (err.code !== ErrorCodes.HEAD_NOT_WITNESSED) return err;
      this.#noWitness = true;
      this.#o.logger?.error({ err }, 'ledger heads are not witnessed: a ledger cut short in the store will not be detectable; shipping goes on');
      return undefined;
    }
  }

  /** Writes head.json beside the segments when the head moved. */
  async #writeHeadJson(at: WitnessedHead): Promise<PortcullisError | undefined> {
    if (sameHead(this.#published, at)) return undefined;
    const data = Buffer.from(JSON.stringify(at, null, 2) + '\n');
    try {
      await this.#o.client.putObject(this.#o.destination.bucket, this.#o.destination.prefix + 'head.json', { data, ...bodyDigests(data), contentType: 'application/json' });
      this.#published = { seq: at.seq, hash: at.hash };
      return undefined;
    } catch (e) {
      this.#o.metrics?.ledgerShipFailures.inc({ what: 'head' });
      return asError(e);
    }
  }

  /**
   * At shutdown, after the gate stopped taking calls: closes the open
   * segment, then ships and witnesses until everything is out or
   * `timeoutMs` has passed. Resolves with what is left on the volume.
   */
  /** Lets waiting appends go, closes the active file, and fixes the head the final rounds witness. */
  async #sealLast(): Promise<void> {
    await this.#o.ledger.idle?.();
    await this.#o.ledger.seal().catch(() => false);
    // Read at once: no append can be written between the seal and this line.
    this.#finalHead = this.#o.ledger.head();
  }

  async stop(timeoutMs: number): Promise<ShipReport> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = this.#now() + timeoutMs;
    await this.#running;
    await this.#sealLast();
    let last: ShipReport = { shipped: 0, waiting: 0 };
    let shipped = 0;
    for (let attempt = 0; ; attempt++) {
      // A store that hangs must not hold the pod past its grace period: the round is given what is left of it.
      let timer: NodeJS.Timeout | undefined;
      const within = await Promise.race([
        this.tick(),
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), Math.max(0, deadline - this.#now())))),
      ]);
      clearTimeout(timer);
      if (!within) {
        const waiting = (await this.#waitingSegments()).length;
        last = { shipped: 0, waiting, error: new PortcullisError(ErrorCodes.OBJECT_STORE, `shipping did not finish within ${timeoutMs} ms (PORTCULLIS_SHIP_SHUTDOWN_TIMEOUT_MS)`) };
        break;
      }
      last = within;
      shipped += last.shipped;
      if (!last.error) break;
      const left = deadline - this.#now();
      if (left <= 0) break;
      // Retry delay, not synchronisation: the store is failing and the grace period is not over.
      await new Promise((r) => setTimeout(r, Math.min(left, 250 * 2 ** Math.min(attempt, 3))));
    }
    const report = { ...last, shipped };
    if (report.error || report.waiting > 0) {
      this.#o.logger?.error(
        { err: report.error, waiting: report.waiting, destination: this.destination },
        `ledger shipping: ${report.waiting} segment(s) could not be shipped before shutdown; they stay on the volume (missing from the store, which the last witnessed head shows)`,
      );
    } else {
      this.#o.logger?.info({ shipped, witnessedSeq: report.witnessedSeq, destination: this.destination }, 'ledger shipped at shutdown');
    }
    return report;
  }
}
