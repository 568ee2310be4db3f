/**
 * Retention of rotated ledger segments when they are not shipped: the newest
 * `keep` segments stay, older ones are deleted, so the ledger's volume holds
 * at most `keep + 1` files of PORTCULLIS_LEDGER_MAX_BYTES (plus one batch)
 * instead of growing until the kubelet evicts the pod. Deleted evidence is
 * gone: each deletion is logged (a warning naming the file), the chain of what
 * is kept still verifies (`portcullis verify --allow-partial-start`), and
 * shipping (PORTCULLIS_SHIP_TO), which deletes a segment only once it is
 * stored elsewhere, is the way to keep everything. The active file is never
 * touched; segments are complete files (the ledger renames them after fsync).
 * Pruning runs at start, after each rotation (the ledger says so: see
 * `rotated`), on a timer as a fallback, and once more when stopped. It does
 * not watch the folder: every append to the active file would wake it.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../telemetry/logger.ts';
import { segmentsOf } from './ledger.ts';

export interface SegmentRetentionOptions {
  /** The active ledger file (PORTCULLIS_LEDGER). */
  ledgerFile: string;
  /** Rotated segments kept, the newest; at least 1. */
  keep: number;
  logger?: Logger | undefined;
  /** Fallback check interval (default 30 s). */
  intervalMs?: number;
}

export interface SegmentRetention {
  /** The ledger closed a segment: prune soon (LedgerOptions.onRotate). */
  rotated(): void;
  /** Resolves when the prune in progress (if any) is done; tests and shutdown. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Deletes all but the newest `keep` rotated segments of `ledgerFile`; returns the names deleted. */
export async function pruneSegments(ledgerFile: string, keep: number, logger?: Logger): Promise<string[]> {
  const dir = dirname(ledgerFile);
  const names = await readdir(dir).catch((e: unknown) => {
    // No folder yet (retention starts before the ledger makes it): nothing to prune.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  });
  const segments = segmentsOf(ledgerFile, names);
  const doomed = segments.slice(0, Math.max(0, segments.length - Math.max(1, keep)));
  const deleted: string[] = [];
  for (const [, name] of doomed) {
    const path = join(dir, name);
    const bytes = await stat(path).then((s) => s.size, () => undefined);
    try {
      await unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    deleted.push(name);
    logger?.warn({ segment: name, bytes, keep }, `ledger segment ${name} deleted by retention (PORTCULLIS_LEDGER_KEEP_SEGMENTS=${keep}): the entries it held are gone; ship ledgers (PORTCULLIS_SHIP_TO) to keep them`);
  }
  return deleted;
}

export function startSegmentRetention(o: SegmentRetentionOptions): SegmentRetention {
  let running: Promise<void> = Promise.resolve();
  let again = false;
  let stopped = false;
  const prune = (): void => {
    if (stopped) return;
    // One prune at a time; a change during one asks for one more after it.
    if (again) return;
    again = true;
    running = running.then(async () => {
      again = false;
      if (stopped) return;
      await pruneSegments(o.ledgerFile, o.keep, o.logger).catch((e: unknown) => {
        o.logger?.error({ err: (e as Error).message, file: o.ledgerFile }, 'ledger segment retention failed; retried at the next rotation');
      });
    });
  };
  const timer = setInterval(prune, o.intervalMs ?? 30_000);
  timer.unref();
  prune();
  return {
    rotated: prune,
    settled: () => running,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      // A rotation just before stopping may not have been pruned yet.
      await pruneSegments(o.ledgerFile, o.keep, o.logger).catch(() => undefined);
    },
  };
}
