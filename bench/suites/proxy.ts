/**
 * The proxy suite of `npm run bench`: what one gated hop costs, measured on
 * what ships, side by side with what a hop costs elsewhere, in one run.
 *
 * Targets, each its own process, all in front of one upstream process:
 *   direct          the upstream itself (the floor)
 *   node-proxy      the minimal Node proxy: node:http + undici Pool, no policy
 *   nginx           nginx from Debian, one worker (installed when missing)
 *   portcullis      the compiled package (dist/, no TypeScript loader) run as
 *                   `portcullis sidecar` with the shipped policies, bundle from
 *                   a controller stand-in, durable ledger on a real file,
 *                   metrics, logs at the default level into a drained pipe,
 *                   spans exported over OTLP/HTTP to a sink process
 *   portcullis-bare the same process with no ledger, no span export, no logs
 *                   (full runs only: the cost of the evidence)
 * Workloads: a small JSON GET and a 16 KiB JSON POST on an HTTP route, and an
 * MCP tools/call on an MCP route.
 *
 * Rounds alternate the targets (in a rotating order) so that load from
 * elsewhere on the machine lands on all of them alike; every ratio is taken
 * within a round, and reported as the median over rounds with the least and
 * greatest round beside it.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { request } from 'undici';
import { median, p99 } from '../measure.ts';
import { fixedRate, type FixedRateRequest } from '../proxy/fixed-rate.ts';
import { cpuMicros, rssMiB } from '../proxy/proc.ts';
import { oneConnection } from '../proxy/one-connection.ts';
import { fdatasyncLatencies } from '../proxy/fdatasync.ts';
import { freePort, readyLine, startProcess, untilServing, type Running } from '../proxy/processes.ts';
import { compiledBundle, shippedPackage, type ShippedPackage } from '../proxy/shipped.ts';
import { ensureNginx, startNginx } from '../proxy/nginx.ts';
import type { BenchContext, BenchSuite, Metric, SuiteResult, SuiteTable } from '../suite.ts';

type Gate = 'shipped' | 'bare';

interface Target {
  name: string;
  /** Portcullis routes by tool name; the others forward paths as they are. */
  gate: boolean;
  origin: string;
  proc: Running;
}

interface Workload {
  name: string;
  request: FixedRateRequest;
  path(gate: boolean): string;
  /** Whether the body that came back is the one the upstream sends for this request (it got there whole). */
  delivered(body: string): boolean;
}

const POST_BYTES = 16 * 1024;

function postBody(): Buffer {
  const head = '{"service":"api","version":"1.4.3","manifest":"';
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(POST_BYTES - head.length - tail.length) + tail);
}

function workloads(): Workload[] {
  const json = { 'content-type': 'application/json' };
  const mcpCall = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_file', arguments: { path: '/data/report.txt' } } };
  return [
    {
      name: 'get',
      request: { method: 'GET' },
      path: (gate) => (gate ? '/tools/deploy/v1/deployments' : '/v1/deployments'),
      delivered: (body) => body.includes('"dep_1"'),
    },
    {
      name: 'post16k',
      request: { method: 'POST', body: postBody(), headers: json },
      path: (gate) => (gate ? '/tools/deploy/v1/dry-run/deployments' : '/v1/dry-run/deployments'),
      delivered: (body) => (JSON.parse(body) as { bytes?: number }).bytes === POST_BYTES,
    },
    {
      name: 'mcp',
      request: { method: 'POST', body: Buffer.from(JSON.stringify(mcpCall)), headers: { ...json, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' } },
      path: (gate) => (gate ? '/mcp/fs' : '/mcp'),
      delivered: (body) => (JSON.parse(body) as { result?: { content?: { text?: string }[] } }).result?.content?.[0]?.text === 'contents of /data/report.txt',
    },
  ];
}

/** The environment of a measured process: the bench's own, without any Portcullis, OpenTelemetry or Node settings of its own. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PORTCULLIS_') && !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
}

async function helper(pkg: ShippedPackage, role: string, args: string[], cwd: string): Promise<{ proc: Running; url: string }> {
  const proc = startProcess(role, process.execPath, [pkg.servers, role, ...args], cleanEnv(), cwd);
  return { proc, url: `http://127.0.0.1:${await readyLine(proc)}` };
}

interface GateSetup {
  pkg: ShippedPackage;
  dir: string;
  bundleServer: string;
  sink: string;
}

/** Starts the sidecar and times it from spawn to serving: its proxy port accepts and /readyz answers 200. */
async function startGate(s: GateSetup, kind: Gate, name: string): Promise<{ target: Target; readyMs: number; ledger: string }> {
  const dir = join(s.dir, name);
  await mkdir(dir, { recursive: true });
  const [port, adminPort] = [await freePort(), await freePort()];
  const ledger = join(dir, 'ledger', 'ledger.jsonl');
  await mkdir(join(dir, 'ledger'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    PORTCULLIS_CONTROLLER_URL: s.bundleServer,
    PORTCULLIS_BUNDLE: 'bench/policies',
    PORTCULLIS_LISTEN_HOST: '127.0.0.1',
    PORTCULLIS_PORT: String(port),
    PORTCULLIS_ADMIN_HOST: '127.0.0.1',
    PORTCULLIS_ADMIN_PORT: String(adminPort),
    PORTCULLIS_POD_NAME: 'agent-0',
    PORTCULLIS_POD_NAMESPACE: 'bench',
    PORTCULLIS_SERVICE_ACCOUNT: 'agent',
    ...(kind === 'shipped'
      ? { PORTCULLIS_LEDGER: ledger, OTEL_EXPORTER_OTLP_ENDPOINT: s.sink, OTEL_SERVICE_NAME: 'portcullis-sidecar' }
      : { PORTCULLIS_LEDGER: '', OTEL_SDK_DISABLED: 'true', PORTCULLIS_LOG_LEVEL: 'silent' }),
  };
  const started = performance.now();
  const proc = startProcess(name, process.execPath, [s.pkg.bin, 'sidecar'], env, dir);
  await untilServing(proc, port, `http://127.0.0.1:${adminPort}/readyz`, 30_000);
  const readyMs = performance.now() - started;
  return { target: { name, gate: true, origin: `http://127.0.0.1:${port}`, proc }, readyMs, ledger };
}

async function startPlain(name: string, proc: Running, port: number): Promise<Target> {
  await untilServing(proc, port, undefined, 30_000);
  return { name, gate: false, origin: `http://127.0.0.1:${port}`, proc };
}

/** One request per target and workload: answered 200 with the upstream's own answer to it. */
async function checkDelivery(targets: Target[], loads: Workload[]): Promise<void> {
  for (const t of targets) {
    for (const w of loads) {
      const r = await request(t.origin + w.path(t.gate), { method: w.request.method ?? 'GET', headers: w.request.headers ?? {}, body: w.request.body ?? null });
      const body = await r.body.text();
      if (r.statusCode !== 200 || !w.delivered(body)) throw new Error(`${t.name} ${w.name}: HTTP ${r.statusCode} without the upstream's answer: ${body.slice(0, 300)} ${t.proc.tail().slice(-500)}`);
    }
  }
}

interface Saturation {
  rps: number;
  cpuUs: number;
  requests: number;
  failed: number;
}

/** Requests per second at 16 connections, and the target's own CPU time per request meanwhile. */
async function saturate(t: Target, w: Workload, seconds: number): Promise<Saturation> {
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

interface Spread {
  value: number;
  low: number;
  high: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { value: median({ sorted }), low: sorted[0]!, high: sorted[sorted.length - 1]! };
}

interface Round {
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

interface Plan {
  rounds: number;
  saturateSeconds: number;
  rateSeconds: number;
  rates: number[];
  /** Workloads measured at the fixed rates (all are measured saturated). */
  rateWorkloads: string[];
  warmupSeconds: number;
  readySamples: number;
  bare: boolean;
  /** Requests per round on one connection, and write+fdatasync pairs. */
  oneConnectionRequests: number;
  fdatasyncs: number;
}

function planFor(quick: boolean): Plan {
  return quick
    ? { rounds: 3, saturateSeconds: 1, rateSeconds: 1, rates: [500, 1000], rateWorkloads: ['get'], warmupSeconds: 1, readySamples: 3, bare: false, oneConnectionRequests: 300, fdatasyncs: 100 }
    : { rounds: 5, saturateSeconds: 3, rateSeconds: 3, rates: [500, 1000], rateWorkloads: ['get', 'post16k', 'mcp'], warmupSeconds: 2, readySamples: 5, bare: true, oneConnectionRequests: 1000, fdatasyncs: 300 };
}

async function measureRound(r: number, plan: Plan, targets: Target[], loads: Workload[], ledgerDir: string, log: (l: string) => void): Promise<Round> {
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
    if (t.name === 'direct' || t.name === 'portcullis') {
      const get = loads[0]!;
      round.oneConnectionP50[t.name] = median({ sorted: await oneConnection(t.origin + get.path(t.gate), plan.oneConnectionRequests, get.request) });
    }
    round.rssMiB[t.name] = rssMiB(t.proc.pid);
  }
  round.fdatasyncP50 = median({ sorted: fdatasyncLatencies(ledgerDir, plan.fdatasyncs) });
  return round;
}

function failures(rounds: Round[]): string[] {
  const out: string[] = [];
  for (const [i, r] of rounds.entries()) {
    for (const [t, byLoad] of Object.entries(r.saturation)) for (const [w, s] of Object.entries(byLoad)) if (s.failed > 0) out.push(`round ${i + 1} ${t} ${w} saturated: ${s.failed} of ${s.requests} failed`);
    for (const [t, byRate] of Object.entries(r.latency)) for (const [k, l] of Object.entries(byRate)) if (l.failed > 0) out.push(`round ${i + 1} ${t} ${k}: ${l.failed} of ${l.sent} failed`);
  }
  return out;
}

const ms = (us: number): number => us / 1000;

function ratioMetrics(rounds: Round[], plan: Plan, names: string[], loads: Workload[], ready: number[]): Metric[] {
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
        const goals = rate === 500 ? { p50: { text: '≤ 0.5', ok: (v: number) => v <= 0.5 }, p99: { text: '≤ 2', ok: (v: number) => v <= 2 } } : { p50: undefined, p99: { text: '≤ 5 (held 60 s)', ok: (v: number) => v <= 5 } };
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
  push('portcullis time to ready (spawn → port accepts, /readyz 200)', spread(ready), 'ms', { text: '≤ 1000', ok: (v) => v <= 1000 });
  return metrics;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function tables(rounds: Round[], plan: Plan, names: string[], loads: Workload[], rssIdle: Record<string, number>): SuiteTable[] {
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

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) if (e.isFile()) total += (await stat(join(dir, e.name))).size;
  return total;
}

export const suite: BenchSuite = {
  name: 'proxy',
  description: 'one gated hop as shipped (dist/, ledger, metrics, logs, spans) beside direct, a minimal Node proxy and nginx: CPU/request, req/s, added latency at 500 and 1000 req/s, RSS, time to ready',
  async run(ctx: BenchContext): Promise<SuiteResult> {
    const plan = planFor(ctx.quick);
    const loads = workloads();
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-bench-run-'));
    const procs: Running[] = [];
    try {
      const pkg = await shippedPackage(ctx.root, ctx.log);
      const notes: string[] = [`Portcullis: ${pkg.provenance}; run as \`portcullis sidecar\` from a package folder without src/`];
      let nginx: { path: string; version: string } | undefined;
      try {
        nginx = await ensureNginx(ctx.log);
      } catch (e) {
        notes.push(`nginx left out of this run: ${(e as Error).message}`);
      }
      const upstream = await helper(pkg, 'upstream', [], dir);
      procs.push(upstream.proc);
      const sink = await helper(pkg, 'otlp-sink', [], dir);
      procs.push(sink.proc);
      const nodeProxy = await helper(pkg, 'node-proxy', [upstream.url], dir);
      procs.push(nodeProxy.proc);
      ctx.log('proxy: compiling the shipped policies (catalog pointed at the bench upstream) with the package\'s `portcullis compile` …');
      const archive = await compiledBundle(pkg, dir, { http: upstream.url, mcp: `${upstream.url}/mcp` });
      const bundleServer = await helper(pkg, 'bundle-server', [archive], dir);
      procs.push(bundleServer.proc);
      const setup: GateSetup = { pkg, dir, bundleServer: bundleServer.url, sink: sink.url };

      const targets: Target[] = [
        { name: 'direct', gate: false, origin: upstream.url, proc: upstream.proc },
        { name: 'node-proxy', gate: false, origin: nodeProxy.url, proc: nodeProxy.proc },
      ];
      if (nginx) {
        const port = await freePort();
        const upstreamPort = Number(new URL(upstream.url).port);
        const nginxDir = join(dir, 'nginx');
        await mkdir(nginxDir, { recursive: true });
        const proc = await startNginx(nginx.path, nginxDir, port, upstreamPort);
        procs.push(proc);
        targets.push(await startPlain('nginx', proc, port));
        notes.push(`nginx: ${nginx.version}, one worker, keep-alive to the upstream, access log on`);
      }
      const ready: number[] = [];
      const shipped = await startGate(setup, 'shipped', 'portcullis');
      procs.push(shipped.target.proc);
      targets.push(shipped.target);
      ready.push(shipped.readyMs);
      if (plan.bare) {
        const bare = await startGate(setup, 'bare', 'portcullis-bare');
        procs.push(bare.target.proc);
        targets.push(bare.target);
      }
      const names = targets.map((t) => t.name);

      await checkDelivery(targets, loads);
      const rssIdle = Object.fromEntries(targets.map((t) => [t.name, rssMiB(t.proc.pid)]));
      const logBytesBefore = shipped.target.proc.outputBytes();
      ctx.log(`proxy: warming up ${names.join(', ')}`);
      for (const t of targets) for (const w of loads) await saturate(t, w, plan.warmupSeconds);

      const rounds: Round[] = [];
      for (let r = 0; r < plan.rounds; r++) rounds.push(await measureRound(r, plan, targets, loads, join(dir, 'portcullis', 'ledger'), ctx.log));

      const gateRequests = rounds.reduce((sum, r) => sum + Object.values(r.saturation.portcullis!).reduce((s, x) => s + x.requests, 0), 0);
      const ledgerBytes = await sizeOf(join(dir, 'portcullis', 'ledger'));
      const logBytes = shipped.target.proc.outputBytes() - logBytesBefore;
      const spans = (await (await request(`${sink.url}/stats`)).body.json()) as { requests: number; bytes: number };
      if (ledgerBytes === 0) throw new Error('the shipped gate wrote no ledger: the run did not measure the durable ledger');
      if (spans.requests === 0) throw new Error('the OTLP sink received no spans: the run did not measure span export');

      for (let i = 1; i < plan.readySamples; i++) {
        ctx.log(`proxy: time to ready, start ${i + 1}/${plan.readySamples}`);
        const again = await startGate(setup, 'shipped', `portcullis-start-${i + 1}`);
        ready.push(again.readyMs);
        await again.target.proc.stop();
      }

      const failed = failures(rounds);
      notes.push(
        `evidence during the saturated phases: ledger ${(ledgerBytes / 1024 / 1024).toFixed(1)} MiB, logs ${(logBytes / 1024 / 1024).toFixed(1)} MiB into the pipe, ${spans.requests} OTLP exports (${(spans.bytes / 1024 / 1024).toFixed(1)} MiB) for about ${gateRequests} gated requests (plus the fixed-rate ones)`,
        ...(failed.length > 0 ? [`failed requests: ${failed.join('; ')}`] : []),
        `${plan.rounds} rounds, targets in rotating order; per target and round: each workload saturated ${plan.saturateSeconds} s, then ${plan.rateWorkloads.join(', ')} at ${plan.rates.join(' and ')} req/s for ${plan.rateSeconds} s each, then (direct and portcullis) ${plan.oneConnectionRequests} GETs one after another on one connection; ${plan.fdatasyncs} write+fdatasync pairs in the ledger's folder per round; the load generator is this process`,
        'ratios are taken within each round; value = median over rounds, spread = least–greatest round. CPU per request is the target process tree\'s own utime+stime (/proc) over requests served: it does not depend on other load on the machine, unlike req/s and latency',
        'added latency = the target\'s percentile minus direct\'s in the same round; at 1000 req/s the goal is for a 60 s hold, which this run does not do',
        'the machine may be shared: compare ratios within this run, not absolute figures across runs',
      );
      return {
        metrics: ratioMetrics(rounds, plan, names, loads, ready),
        tables: tables(rounds, plan, names, loads, rssIdle),
        notes,
        data: { plan, readyMs: ready, rssIdleMiB: rssIdle, rounds, ledgerBytes, logBytes, spans },
      };
    } finally {
      await Promise.allSettled(procs.map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    }
  },
};
