/**
 * The hold: a fixed rate kept up for a minute, one target after another, the
 * way a busy agent pod would see it. Short phases hide what only time shows:
 * garbage collection under a growing heap, a ledger file rotating, span
 * batches piling up. Latency percentiles cover the whole hold; memory is read
 * right after it.
 */
import { median, p99 } from '../measure.ts';
import { fixedRate } from './fixed-rate.ts';
import { rssMiB } from './proc.ts';
import type { Target } from './targets.ts';
import type { Workload } from './workloads.ts';

export interface HoldFigures {
  /** µs over the whole hold. */
  p50: number;
  p99: number;
  sent: number;
  failed: number;
  /** Resident memory right after the hold. */
  rssMiB: number;
}

export interface Hold {
  rate: number;
  seconds: number;
  workload: string;
  /** target → figures */
  byTarget: Record<string, HoldFigures>;
}

/** Each target in turn at `rate` requests per second of `w` for `seconds`. */
export async function holdRate(targets: Target[], w: Workload, at: { rate: number; seconds: number }, log: (l: string) => void): Promise<Hold> {
  const out: Hold = { rate: at.rate, seconds: at.seconds, workload: w.name, byTarget: {} };
  for (const t of targets) {
    log(`proxy: holding ${t.name} at ${at.rate} ${w.name}/s for ${at.seconds} s`);
    const fr = await fixedRate(t.origin + w.path(t.gate), at.rate, at.seconds, w.request);
    const sorted = { sorted: fr.sorted };
    out.byTarget[t.name] = { p50: median(sorted), p99: p99(sorted), sent: fr.sent, failed: fr.errors, rssMiB: rssMiB(t.proc.pid) };
  }
  return out;
}
