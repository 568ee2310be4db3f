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
 *   portcullis-write the same, with the ledger's `write` durability (an
 *                   intent written, not yet synced, before its call runs;
 *                   full runs only)
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
import { request } from 'undici';
import { rssMiB } from '../proxy/proc.ts';
import { freePort, type Running } from '../proxy/processes.ts';
import { compiledBundle, controllerTrust, shippedPackage } from '../proxy/shipped.ts';
import { ensureNginx, startNginx } from '../proxy/nginx.ts';
import { workloads } from '../proxy/workloads.ts';
import { checkDelivery, helper, startGate, startPlain, type GateSetup, type Target } from '../proxy/targets.ts';
import { measureRound, planFor, saturate, type Round } from '../proxy/rounds.ts';
import { failures, holdMetrics, holdTable, ratioMetrics, spread, tables } from '../proxy/report.ts';
import { holdRate, type Hold } from '../proxy/hold.ts';
import type { BenchContext, BenchSuite, SuiteResult } from '../suite.ts';

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
      const signed = await compiledBundle(pkg, dir, { http: upstream.url, mcp: `${upstream.url}/mcp` });
      const trust = await controllerTrust(dir);
      const bundleServer = await helper(pkg, 'bundle-server', [signed.archive, trust.dir], dir);
      procs.push(bundleServer.proc);
      const setup: GateSetup = { pkg, dir, bundleServer: bundleServer.url.replace('http:', 'https:'), bundlePublicKey: signed.publicKey, controllerTrust: trust, sink: sink.url };

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
        for (const [kind, name] of [['write', 'portcullis-write'], ['bare', 'portcullis-bare']] as const) {
          const gate = await startGate(setup, kind, name);
          procs.push(gate.target.proc);
          targets.push(gate.target);
        }
      }
      const names = targets.map((t) => t.name);

      await checkDelivery(targets, loads);
      const rssIdle = Object.fromEntries(targets.map((t) => [t.name, rssMiB(t.proc.pid)]));
      const logBytesBefore = shipped.target.proc.outputBytes();
      // The upstream warms up under every proxy's load, and nginx has no JIT to warm.
      const warm = targets.filter((t) => t.name !== 'direct' && t.name !== 'nginx');
      ctx.log(`proxy: warming up ${warm.map((t) => t.name).join(', ')}`);
      for (const t of warm) for (const w of loads) await saturate(t, w, plan.warmupSeconds);

      const rounds: Round[] = [];
      for (let r = 0; r < plan.rounds; r++) rounds.push(await measureRound(r, plan, targets, loads, join(dir, 'portcullis', 'ledger'), ctx.log));

      let hold: Hold | undefined;
      if (plan.hold.seconds > 0) {
        const held = targets.filter((t) => t.name === 'direct' || t.name === 'node-proxy' || t.name === 'portcullis');
        hold = await holdRate(held, loads[0]!, plan.hold, ctx.log);
      }

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
      for (const n of names) {
        const most = spread(rounds.map((r) => r.saturation[n]!.get!.rps)).value;
        const over = plan.rates.filter((rate) => rate > most * 0.9);
        if (over.length > 0) notes.push(`${n} served a median of ${most.toFixed(0)} req/s saturated (get) in this run: at ${over.join(' and ')} req/s it runs at or past its capacity, and its fixed-rate latency is mostly requests queueing`);
      }
      notes.push(
        `evidence written during the run: ledger ${(ledgerBytes / 1024 / 1024).toFixed(1)} MiB, logs ${(logBytes / 1024 / 1024).toFixed(1)} MiB into the pipe, ${spans.requests} OTLP exports (${(spans.bytes / 1024 / 1024).toFixed(1)} MiB) for about ${gateRequests} gated requests (plus the fixed-rate ones${hold ? ' and the hold' : ''})`,
        ...(failed.length > 0 ? [`failed requests: ${failed.join('; ')}`] : []),
        `${plan.rounds} rounds, targets in rotating order; per target and round: each workload saturated ${plan.saturateSeconds} s, then ${plan.rateWorkloads.join(', ')} at ${plan.rates.join(' and ')} req/s for ${plan.rateSeconds} s each, then (direct, portcullis and portcullis-write) ${plan.oneConnectionRequests} GETs one after another on one connection; ${plan.fdatasyncs} write+fdatasync pairs in the ledger's folder per round; the load generator is this process`,
        'ratios are taken within each round; value = median over rounds, spread = least–greatest round. CPU per request is the target process tree\'s own utime+stime (/proc) over requests served: it does not depend on other load on the machine, unlike req/s and latency',
        hold
          ? `added latency = the target's percentile minus direct's in the same round; the 60 s goal at ${plan.hold.rate} req/s is measured by the hold after the rounds (each target in turn, ${plan.hold.seconds} s)`
          : 'added latency = the target\'s percentile minus direct\'s in the same round; the 60 s hold at 1000 req/s runs in full runs only (not --quick)',
        'the machine may be shared: compare ratios within this run, not absolute figures across runs',
      );
      return {
        metrics: [...ratioMetrics(rounds, plan, names, loads, ready), ...(hold ? holdMetrics(hold) : [])],
        tables: [...tables(rounds, plan, names, loads, rssIdle), ...(hold ? [holdTable(hold)] : [])],
        notes,
        data: { plan, readyMs: ready, rssIdleMiB: rssIdle, rounds, ...(hold ? { hold } : {}), ledgerBytes, logBytes, spans },
      };
    } finally {
      await Promise.allSettled(procs.map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    }
  },
};
