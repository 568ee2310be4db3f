/**
 * The ledger's one seam to the file system, so that faults (a full disk, a
 * failing fsync) can be injected in tests without a real broken disk.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, stat, type FileHandle } from 'node:fs/promises';

/** An open ledger file in append mode. */
export interface LedgerFile {
  /**
   * True when an append is durable once it resolves (the file is open with
   * O_DSYNC): the write and its sync are one system call and one trip to
   * the thread pool, and `datasync` after it is not needed.
   */
  readonly syncsOnWrite?: boolean;
  /** Appends bytes at the end; resolves with how many were written (may be fewer than given). */
  append(bytes: Uint8Array): Promise<number>;
  /** fdatasync: the appended bytes survive a crash once this resolves. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export interface LedgerFs {
  /**
   * Opens (creating if absent) a file for appending and reading; with
   * `syncOnWrite` (the default) each write is durable when it returns
   * (O_DSYNC, where the platform has it).
   */
  openAppend(path: string, options?: { syncOnWrite?: boolean }): Promise<LedgerFile>;
  /** Opens an existing file for reading only; throws ENOENT when absent. */
  openRead(path: string): Promise<LedgerFile>;
  rename(from: string, to: string): Promise<void>;
  /** fsyncs a directory so that a create or rename in it is durable. */
  syncDir(dir: string): Promise<void>;
  mkdirp(dir: string): Promise<void>;
  list(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
}

function wrap(handle: FileHandle, syncsOnWrite = false): LedgerFile {
  return {
    syncsOnWrite,
    append: async (bytes) => (await handle.write(bytes, 0, bytes.byteLength, null)).bytesWritten,
    datasync: () => handle.datasync(),
    truncate: (length) => handle.truncate(length),
    size: async () => (await handle.stat()).size,
    read: async (position, length) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
}

/** The real file system. */
export const nodeLedgerFs: LedgerFs = {
  // Where the platform has no O_DSYNC (Windows), each write is followed by an fdatasync instead.
  openAppend: async (path, options) => {
    const dsync = options?.syncOnWrite === false ? undefined : (constants as { O_DSYNC?: number }).O_DSYNC;
    return wrap(await open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (dsync ?? 0), 0o640), dsync !== undefined);
  },
  openRead: async (path) => wrap(await open(path, 'r')),
  rename: (from, to) => rename(from, to),
  syncDir: async (dir) => {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
  mkdirp: async (dir) => {
    await mkdir(dir, { recursive: true });
  },
  list: (dir) => readdir(dir),
  exists: async (path) => {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  },
};
