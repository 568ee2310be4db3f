/** The proxy benchmark's figures: ratios within each round, their median and spread over rounds, and the tables of absolute figures. */
import { median } from '../measure.ts';
import type { Metric, SuiteTable } from '../suite.ts';
import type { Hold } from './hold.ts';
import type { Plan, Round } from './rounds.ts';
import type { Workload } from './workloads.ts';

export interface Spread {
  value: number;
  low: number;
  high: number;
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { value: median({ sorted }), low: sorted[0]!, high: sorted[sorted.length - 1]! };
}

export function failures(rounds: Round[]): string[] {
  const out: string[] = [];
  for (const [i, r] of rounds.entries()) {
    for (const [t, byLoad] of Object.entries(r.saturation)) for (const [w, s] of Object.entries(byLoad)) if (s.failed > 0) out.push(`round ${i + 1} ${t} ${w} saturated: ${s.failed} of ${s.requests} failed`);
    for (const [t, byRate] of Object.entries(r.latency)) for (const [k, l] of Object.entries(byRate)) if (l.failed > 0) out.push(`round ${i + 1} ${t} ${k}: ${l.failed} of ${l.sent} failed`);
  }
  return out;
}

const ms = (us: number): number => us / 1000;

export function ratioMetrics(rounds: Round[], plan: Plan, names: string[], loads: Workload[], ready: number[]): Metric[] {
  const metrics: Metric[] = [];
  const per = (f: (r: Round) => number): Spread => spread(rounds.map(f));
  const gated = names.filter((n) => n.startsWith('portcullis'));
  const others = names.filter((n) => n !== 'direct' && n !== 'node-proxy');
  const push = (name: string, s: Spread, unit: string, goal?: { text: string; ok: (v: number) => boolean }, higherIsBetter = false): void => {
    metrics.push({ name, value: s.value, low: s.low, high: s.high, unit, ...(higherIsBetter ? { higherIsBetter } : {}), ...(goal ? { goal: goal.text, meets: goal.ok(s.value) } : {}) });
  };
  for (const n of others) {
    const isGate = gated.includes(n);
    for (const w of loads) {
      push(`${n} CPU/request ÷ node-proxy, ${w.name}`, per((r) => r.saturation[n]![w.name]!.cpuUs / r.saturation['node-proxy']![w.name]!.cpuUs), '×', isGate ? { text: '≤ 2', ok: (v) => v <= 2 } : undefined);
    }
    for (const w of loads) {
      push(`${n} throughput ÷ node-proxy, ${w.name}`, per((r) => r.saturation[n]![w.name]!.rps / r.saturation['node-proxy']![w.name]!.rps), '×', isGate ? { text: '≥ 0.5', ok: (v) => v >= 0.5 } : undefined, true);
    }
  }
  for (const n of names.filter((x) => x !== 'direct')) {
    const isGate = gated.includes(n);
    for (const w of plan.rateWorkloads) {
      for (const rate of plan.rates) {
        const key = `${w}@${rate}`;
        const goals = rate === 500 ? { p50: { text: '≤ 0.5', ok: (v: number) => v <= 0.5 }, p99: { text: '≤ 2', ok: (v: number) => v <= 2 } } : { p50: undefined, p99: undefined };
        push(`${n} added p50 over direct, ${w} @${rate}/s`, per((r) => ms(r.latency[n]![key]!.p50 - r.latency.direct![key]!.p50)), 'ms', isGate ? goals.p50 : undefined);
        push(`${n} added p99 over direct, ${w} @${rate}/s`, per((r) => ms(r.latency[n]![key]!.p99 - r.latency.direct![key]!.p99)), 'ms', isGate ? goals.p99 : undefined);
      }
    }
  }
  for (const n of others) {
    push(`${n} RSS after the round ÷ node-proxy`, per((r) => r.rssMiB[n]! / r.rssMiB['node-proxy']!), '×', gated.includes(n) ? { text: '≤ 1.5', ok: (v) => v <= 1.5 } : undefined);
  }
  push('portcullis added p50 on one connection, get', per((r) => ms(r.oneConnectionP50.portcullis! - r.oneConnectionP50.direct!)), 'ms');
  push('one write + fdatasync in the ledger folder, p50', per((r) => ms(r.fdatasyncP50)), 'ms');
  push('portcullis added p50 on one connection − one fdatasync', per((r) => ms(r.oneConnectionP50.portcullis! - r.oneConnectionP50.direct! - r.fdatasyncP50)), 'ms', { text: '≤ 0.2', ok: (v) => v <= 0.2 });
  if (names.includes('portcullis-write')) {
    push('portcullis-write added p50 on one connection, get', per((r) => ms(r.oneConnectionP50['portcullis-write']! - r.oneConnectionP50.direct!)), 'ms');
  }
  push('portcullis time to ready (spawn → port accepts, /readyz 200)', spread(ready), 'ms', { text: '≤ 1000', ok: (v) => v <= 1000 });
  return metrics;
}

/** The hold's two figures held to goals: one sample each, so no spread. */
export function holdMetrics(hold: Hold): Metric[] {
  const { direct, portcullis } = hold.byTarget;
  const nodeProxy = hold.byTarget['node-proxy'];
  if (!direct || !portcullis || !nodeProxy) return [];
  const p99 = ms(portcullis.p99 - direct.p99);
  const rss = portcullis.rssMiB / nodeProxy.rssMiB;
  const at = `${hold.workload} held at ${hold.rate}/s for ${hold.seconds} s`;
  return [
    { name: `portcullis added p99 over direct, ${at}`, value: p99, unit: 'ms', goal: '≤ 5', meets: p99 <= 5 },
    { name: `portcullis RSS after the hold ÷ node-proxy`, value: rss, unit: '×', goal: '≤ 1.5', meets: rss <= 1.5 },
  ];
}

/** The hold's figures per target. */
export function holdTable(hold: Hold): SuiteTable {
  return {
    title: `held at ${hold.rate} ${hold.workload}/s for ${hold.seconds} s, one target after another (open loop, 16 connections); latency ms, memory MiB`,
    header: ['target', 'p50', 'p99', 'sent', 'failed', 'RSS after'],
    rows: Object.entries(hold.byTarget).map(([n, f]) => [n, fmt(ms(f.p50)), fmt(ms(f.p99)), String(f.sent), String(f.failed), fmt(f.rssMiB)]),
  };
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function tables(rounds: Round[], plan: Plan, names: string[], loads: Workload[], rssIdle: Record<string, number>): SuiteTable[] {
  const med = (f: (r: Round) => number): string => fmt(spread(rounds.map(f)).value);
  const saturation: SuiteTable = {
    title: 'saturated at 16 connections, medians over rounds (CPU: the target\'s own process tree, µs per request)',
    header: ['target', ...loads.flatMap((w) => [`${w.name} CPU µs`, `${w.name} req/s`])],
    rows: names.map((n) => [n, ...loads.flatMap((w) => [med((r) => r.saturation[n]![w.name]!.cpuUs), med((r) => r.saturation[n]![w.name]!.rps)])]),
  };
  const keys = plan.rateWorkloads.flatMap((w) => plan.rates.map((rate) => `${w}@${rate}`));
  const latency: SuiteTable = {
    title: 'latency at a fixed rate (open loop, 16 connections), medians over rounds, ms; memory, MiB',
    header: ['target', ...keys.flatMap((k) => [`p50 ${k}`, `p99 ${k}`]), 'RSS idle', 'RSS after'],
    rows: names.map((n) => [n, ...keys.flatMap((k) => [med((r) => ms(r.latency[n]![k]!.p50)), med((r) => ms(r.latency[n]![k]!.p99))]), fmt(rssIdle[n]!), fmt(rounds[rounds.length - 1]!.rssMiB[n]!)]),
  };
  return [saturation, latency];
}
