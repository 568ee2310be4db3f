/**
 * What one durable append costs on a filesystem: a small write followed by
 * fdatasync, timed one after another in a scratch file of the folder given
 * (the ledger's own folder, so the same device and mount options).
 */
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** Latencies in µs of `count` write+fdatasync pairs, sorted. */
export function fdatasyncLatencies(dir: string, count: number): number[] {
  const path = join(dir, `.fdatasync-probe-${process.pid}`);
  const fd = openSync(path, 'a');
  const line = Buffer.from(`${'x'.repeat(255)}\n`);
  const out: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      writeSync(fd, line);
      fdatasyncSync(fd);
      out.push((performance.now() - started) * 1000);
    }
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
  return out.sort((a, b) => a - b);
}
