/**
 * One round of the proxy benchmark: every target in turn (in an order that
 * rotates from round to round), each workload saturated, then at fixed
 * rates, then one connection; the memory of each after its turn.
 */
import { median, p99 } from '../measure.ts';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { fixedRate } from './fixed-rate.ts';
import { cpuMicros, rssMiB } from './proc.ts';
import { oneConnection } from './one-connection.ts';
import { fdatasyncLatencies } from './fdatasync.ts';
import type { Target } from './targets.ts';
import type { Workload } from './workloads.ts';

export interface Saturation {
  rps: number;
  cpuUs: number;
  requests: number;
  failed: number;
}

/** Requests per second at 16 connections, and the target's own CPU time per request meanwhile. */
export async function saturate(t: Target, w: Workload, seconds: number): Promise<Saturation> {
  const cpuBefore = cpuMicros(t.proc.pid);
  const started = performance.now();
  const r: { requests: { total: number }; non2xx: number; errors: number; timeouts: number } = await autocannon({
    url: t.origin + w.path(t.gate),
    connections: 16,
    pipelining: 1,
    duration: seconds,
    method: w.request.method ?? 'GET',
    ...(w.request.body ? { body: w.request.body } : {}),
    ...(w.request.headers ? { headers: w.request.headers } : {}),
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuMicros(t.proc.pid) - cpuBefore;
  return { rps: r.requests.total / elapsed, cpuUs: cpu / Math.max(1, r.requests.total), requests: r.requests.total, failed: r.non2xx + r.errors + r.timeouts };
}

export interface Round {
  order: string[];
  /** target → workload → figures */
  saturation: Record<string, Record<string, Saturation>>;
  /** target → `workload@rate` → µs */
  latency: Record<string, Record<string, { p50: number; p99: number; sent: number; failed: number }>>;
  rssMiB: Record<string, number>;
  /** target → p50 µs of a GET on one connection, closed loop (direct and portcullis only) */
  oneConnectionP50: Record<string, number>;
  /** p50 µs of one small write + fdatasync in the ledger's folder */
  fdatasyncP50: number;
}

export interface Plan {
  rounds: number;
  saturateSeconds: number;
  rateSeconds: number;
  rates: number[];
  /** Workloads measured at the fixed rates (all are measured saturated). */
  rateWorkloads: string[];
  warmupSeconds: number;
  readySamples: number;
  /** Also measure `portcullis-bare` and `portcullis-write` (full runs). */
  bare: boolean;
  /** Requests per round on one connection, and write+fdatasync pairs. */
  oneConnectionRequests: number;
  fdatasyncs: number;
  /** After the rounds: direct, node-proxy and portcullis each held at `rate` GETs per second for `seconds` (0: no hold). */
  hold: { rate: number; seconds: number };
}

export function planFor(quick: boolean): Plan {
  return quick
    ? { rounds: 3, saturateSeconds: 1, rateSeconds: 1, rates: [500, 1000], rateWorkloads: ['get'], warmupSeconds: 1, readySamples: 3, bare: false, oneConnectionRequests: 300, fdatasyncs: 100, hold: { rate: 1000, seconds: 0 } }
    : { rounds: 5, saturateSeconds: 3, rateSeconds: 3, rates: [500, 1000], rateWorkloads: ['get', 'post16k', 'mcp'], warmupSeconds: 2, readySamples: 5, bare: true, oneConnectionRequests: 1000, fdatasyncs: 300, hold: { rate: 1000, seconds: 60 } };
}

export async function measureRound(r: number, plan: Plan, targets: Target[], loads: Workload[], ledgerDir: string, log: (l: string) => void): Promise<Round> {
  const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
  const round: Round = { order: order.map((t) => t.name), saturation: {}, latency: {}, rssMiB: {}, oneConnectionP50: {}, fdatasyncP50: 0 };
  for (const t of order) {
    log(`proxy: round ${r + 1}/${plan.rounds}: ${t.name}`);
    round.saturation[t.name] = {};
    round.latency[t.name] = {};
    for (const w of loads) round.saturation[t.name]![w.name] = await saturate(t, w, plan.saturateSeconds);
    for (const w of loads.filter((l) => plan.rateWorkloads.includes(l.name))) {
      for (const rate of plan.rates) {
        const fr = await fixedRate(t.origin + w.path(t.gate), rate, plan.rateSeconds, w.request);
        const sorted = { sorted: fr.sorted };
        round.latency[t.name]![`${w.name}@${rate}`] = { p50: median(sorted), p99: p99(sorted), sent: fr.sent, failed: fr.errors };
      }
    }
    if (t.name === 'direct' || t.name === 'portcullis' || t.name === 'portcullis-write') {
      const get = loads[0]!;
      round.oneConnectionP50[t.name] = median({ sorted: await oneConnection(t.origin + get.path(t.gate), plan.oneConnectionRequests, get.request) });
    }
    round.rssMiB[t.name] = rssMiB(t.proc.pid);
  }
  round.fdatasyncP50 = median({ sorted: fdatasyncLatencies(ledgerDir, plan.fdatasyncs) });
  return round;
}
