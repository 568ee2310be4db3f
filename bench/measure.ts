/** Timing helpers shared by the suites. */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface Samples {
  /** Per-operation times in microseconds, sorted ascending. */
  sorted: number[];
}

export function quantile(s: Samples, q: number): number {
  const { sorted } = s;
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const median = (s: Samples): number => quantile(s, 0.5);
export const p99 = (s: Samples): number => quantile(s, 0.99);

/** Times `op` one call at a time after a warm-up; `op` gets the iteration number. */
export function sampleSync(op: (i: number) => void, iterations: number, warmup = Math.min(2000, iterations)): Samples {
  for (let i = 0; i < warmup; i++) op(i);
  const times = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    op(i);
    times[i] = (performance.now() - start) * 1000;
  }
  return { sorted: Array.from(times).sort((a, b) => a - b) };
}

export async function sampleAsync(op: (i: number) => Promise<unknown>, iterations: number, warmup = 1): Promise<Samples> {
  for (let i = 0; i < warmup; i++) await op(i);
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await op(i);
    times.push((performance.now() - start) * 1000);
  }
  return { sorted: times.sort((a, b) => a - b) };
}

let collect: (() => void) | undefined;

/**
 * JS heap in use after a full collection, in MiB. (External memory is left
 * out: wasm memories are released lazily, which makes it jump between runs.)
 */
export function heapMiB(): number {
  if (!collect) {
    // A fresh context picks up --expose-gc set at run time, so `npm run bench` needs no extra flag.
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  return process.memoryUsage().heapUsed / (1024 * 1024);
}
