/**
 * The proxy suite of `npm run bench`: the same GET, side by side in one run,
 * (1) direct to the upstream, (2) through a plain undici proxy with no
 * policy, (3) through Portcullis with the shipped bundle (named route
 * `/tools/deploy/v1/deployments`: an allow with a response-size constraint).
 * Each server runs in its own process. Reports p50/p99 latency at a fixed
 * 1000 requests/s (open loop, µs resolution), the latency Portcullis adds over
 * direct, and saturation throughput with autocannon.
 * Targets: added p50 ≤ 150 µs and p99 ≤ 500 µs at 1000 req/s; throughput
 * ≥ 40% of direct on one core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { median, p99 } from '../measure.ts';
import { fixedRate } from '../proxy/fixed-rate.ts';
import type { BenchContext, BenchSuite, Metric, SuiteResult } from '../suite.ts';

interface Started {
  url: string;
  child: ChildProcess;
}

function start(root: string, args: string[], log: (l: string) => void): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'proxy', 'servers.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, OTEL_SDK_DISABLED: 'true' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, child });
    });
    child.stderr!.on('data', (c: Buffer) => log(`${args[0]}: ${c.toString().trim()}`));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code} before it was ready`)));
  });
}

function cpuMicros(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(m.cpu.user + m.cpu.system));
    child.send('cpu');
  });
}

/** Requests per second under autocannon, and the server's own CPU time per request meanwhile. */
async function saturate(url: string, seconds: number, server: ChildProcess): Promise<{ rps: number; cpuUs: number }> {
  const before = await cpuMicros(server);
  const r: { non2xx: number; errors: number; requests: { average: number; total: number } } = await autocannon({ url, connections: 32, pipelining: 1, duration: seconds });
  const after = await cpuMicros(server);
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx and ${r.errors} errors under load`);
  return { rps: r.requests.average, cpuUs: (after - before) / r.requests.total };
}

export const suite: BenchSuite = {
  name: 'proxy',
  description: 'added latency at 1000 req/s and saturation throughput: direct vs plain undici proxy vs Portcullis',
  async run(ctx: BenchContext): Promise<SuiteResult> {
    const seconds = ctx.quick ? 3 : 8;
    const children: ChildProcess[] = [];
    try {
      const upstream = await start(ctx.root, ['upstream'], ctx.log);
      children.push(upstream.child);
      const [plain, gate] = await Promise.all([start(ctx.root, ['plain-proxy', upstream.url], ctx.log), start(ctx.root, ['portcullis', upstream.url], ctx.log)]);
      children.push(plain.child, gate.child);
      const targets = {
        direct: `${upstream.url}/v1/deployments`,
        'plain-proxy': `${plain.url}/v1/deployments`,
        portcullis: `${gate.url}/tools/deploy/v1/deployments`,
      };
      // Rounds interleave the targets so that a burst of load from elsewhere
      // on the machine lands on all three alike.
      const rounds = ctx.quick ? 2 : 3;
      const perRound = Math.max(1, Math.round(seconds / rounds));
      const names = Object.keys(targets) as (keyof typeof targets)[];
      const samples: Record<string, number[]> = { direct: [], 'plain-proxy': [], portcullis: [] };
      const rpsRounds: Record<string, number[]> = { direct: [], 'plain-proxy': [], portcullis: [] };
      const cpuRounds: Record<string, number[]> = { direct: [], 'plain-proxy': [], portcullis: [] };
      const serverOf = { direct: upstream.child, 'plain-proxy': plain.child, portcullis: gate.child };
      for (const name of names) await fixedRate(targets[name], 1000, 1); // warm-up: JIT, pools
      for (let r = 0; r < rounds; r++) {
        for (const name of names) {
          ctx.log(`proxy: round ${r + 1}/${rounds}: ${name} at 1000 req/s for ${perRound}s, then saturated for ${perRound}s`);
          const fr = await fixedRate(targets[name], 1000, perRound);
          if (fr.errors > 0) throw new Error(`${name}: ${fr.errors} of ${fr.sent} requests failed`);
          samples[name]!.push(...fr.sorted);
          const sat = await saturate(targets[name], perRound, serverOf[name]);
          rpsRounds[name]!.push(sat.rps);
          cpuRounds[name]!.push(sat.cpuUs);
        }
      }
      const metrics: Metric[] = [];
      const lat: Record<string, { p50: number; p99: number }> = {};
      const rps: Record<string, number> = {};
      for (const name of names) {
        const sorted = { sorted: samples[name]!.sort((a, b) => a - b) };
        lat[name] = { p50: median(sorted), p99: p99(sorted) };
        rps[name] = rpsRounds[name]!.reduce((a, b) => a + b, 0) / rounds;
        const base = name === 'direct' ? {} : undefined;
        metrics.push(
          { name: `${name} p50 @1000/s`, value: lat[name]!.p50, unit: 'µs', ...(base ?? { baseline: 'direct p50 @1000/s' }) },
          { name: `${name} p99 @1000/s`, value: lat[name]!.p99, unit: 'µs', ...(base ?? { baseline: 'direct p99 @1000/s' }) },
        );
      }
      for (const name of ['plain-proxy', 'portcullis']) {
        metrics.push(
          { name: `${name} added p50`, value: lat[name]!.p50 - lat.direct!.p50, unit: 'µs' },
          { name: `${name} added p99`, value: lat[name]!.p99 - lat.direct!.p99, unit: 'µs' },
        );
      }
      const cpu: Record<string, number> = {};
      for (const name of names) {
        cpu[name] = Math.min(...cpuRounds[name]!);
        metrics.push({ name: `${name} server CPU/request`, value: cpu[name]!, unit: 'µs', ...(name === 'direct' ? {} : { baseline: 'direct server CPU/request' }) });
      }
      for (const name of ['plain-proxy', 'portcullis']) {
        // One core running the proxy alone: its CPU per request bounds its throughput.
        metrics.push({ name: `${name} one-core throughput`, value: 1e6 / cpu[name]!, unit: 'req/s', higherIsBetter: true });
      }
      for (const name of names) {
        metrics.push({ name: `${name} throughput`, value: rps[name]!, unit: 'req/s', higherIsBetter: true, ...(name === 'direct' ? {} : { baseline: 'direct throughput' }) });
      }
      const added = { p50: lat.portcullis!.p50 - lat.direct!.p50, p99: lat.portcullis!.p99 - lat.direct!.p99 };
      return {
        metrics,
        notes: [
          `targets: added p50 ≤ 150 µs (measured ${added.p50.toFixed(0)}), added p99 ≤ 500 µs (measured ${added.p99.toFixed(0)}), throughput ≥ 40% of direct (measured ${((100 * rps.portcullis!) / rps.direct!).toFixed(0)}%; by CPU per request on one core: ${((100 * cpu.direct!) / cpu.portcullis!).toFixed(0)}%)`,
          ...(lat.portcullis!.p50 > 10_000 || lat['plain-proxy']!.p50 > 10_000
            ? ['a proxy could not keep up with 1000 req/s during this run (its p50 is over 10 ms): the fixed-rate figures are queueing behind other load on the machine, not the proxy\'s own cost; read CPU/request instead']
            : []),
          'server CPU/request is the measured server process\'s own CPU time (user + system) per request under saturation, the least of the rounds: it does not depend on other load on the machine',
          'each server is its own Node process (one core each at most); the load generator is this process; no ledger, no trace export',
          'the machine may be shared: compare ratios within this run, not absolute figures across runs',
        ],
      };
    } finally {
      for (const c of children) c.kill();
    }
  },
};
