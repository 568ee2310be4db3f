/**
 * Space written ahead of the active ledger file's entries.
 *
 * Appending to a file changes its size, and a durable append must then make
 * that change durable too (an inode write, or a journal commit on a
 * journaling file system) as well as its own bytes. A commit that overwrites
 * bytes the file already holds changes no metadata, and its O_DSYNC write
 * only flushes its data: on the ext4 disk the benchmarks run on this takes a
 * quarter less CPU and about 85 µs less time per commit
 * (docs/benchmarks.md). So the ledger keeps a run of filler, newline bytes
 * (blank lines to every reader), ahead of its last entry, and extends it in
 * the background, one chunk at a time, while there is still room.
 *
 * Correctness never rests on it: a commit past the filler is an ordinary
 * durable append. A commit that would reach the chunk being written waits for
 * it, so that the two writes never overlap. The filler is cut off when the
 * file is closed or rotated, and on open (ledger-tail.ts).
 */
import type { Logger } from '../telemetry/logger.ts';
import type { LedgerFile } from './ledger-fs.ts';

/**
 * Filler written at a time; another chunk is started once less than half of
 * one is left. Small, because the commits made while a chunk is written wait
 * for it at the disk's flush: with 2 MiB chunks the p99 of 16 KiB POSTs at
 * 500/s went from about 7 to 13.6 ms.
 */
export const FILLER_CHUNK_BYTES = 256 * 1024;
const FILLER = 0x0a;

export class LedgerSpace {
  readonly #file: LedgerFile;
  readonly #chunk: number;
  readonly #logger: Logger | undefined;
  /** Where the file's bytes (entries and filler) end. */
  #allocated: number;
  #extending: Promise<void> | undefined;

  constructor(file: LedgerFile, size: number, options: { chunkBytes?: number; logger?: Logger | undefined } = {}) {
    this.#file = file;
    this.#allocated = size;
    this.#chunk = options.chunkBytes ?? FILLER_CHUNK_BYTES;
    this.#logger = options.logger;
  }

  /** Resolves once a write ending at `end` overlaps no filler being written. */
  async clear(end: number): Promise<void> {
    if (this.#extending && end > this.#allocated) await this.#extending;
  }

  /** Notes that the entries now end at `end`, and starts a chunk of filler when little is left ahead of them. */
  wrote(end: number): void {
    if (end > this.#allocated) this.#allocated = end;
    if (this.#chunk <= 0 || this.#extending || this.#allocated - end >= this.#chunk / 2) return;
    this.#extending = this.#extend().finally(() => {
      this.#extending = undefined;
    });
  }

  /** Waits for filler being written (before the file is cut, closed or renamed). */
  async settle(): Promise<void> {
    await this.#extending;
  }

  /** The file was cut to `size`: no filler is left. */
  cut(size: number): void {
    this.#allocated = size;
  }

  /** Whether there is filler after `end` (the file must be cut before it is closed as a segment). */
  hasFillerAfter(end: number): boolean {
    return this.#allocated > end;
  }

  async #extend(): Promise<void> {
    const from = this.#allocated;
    const filler = Buffer.alloc(this.#chunk, FILLER);
    let written = 0;
    try {
      while (written < filler.byteLength) {
        const n = await this.#file.write(filler.subarray(written), from + written);
        if (n <= 0) break;
        written += n;
      }
    } catch (e) {
      // No harm done: commits go on as plain appends past the filler there is.
      this.#logger?.debug({ err: e }, 'ledger: filler ahead of the entries could not be written');
    } finally {
      this.#allocated = Math.max(this.#allocated, from + written);
    }
  }
}
