/**
 * The measured servers of the proxy benchmark: how each is started, timed to
 * ready, and checked to deliver each workload to the upstream whole.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort, readyLine, startProcess, untilServing, type Running } from './processes.ts';
import type { ControllerTrust, ShippedPackage } from './shipped.ts';
import type { Workload } from './workloads.ts';

/** As shipped; as shipped with the ledger's `write` durability; or with no ledger, span export or logs. */
export type Gate = 'shipped' | 'write' | 'bare';

export interface Target {
  name: string;
  /** Portcullis routes by tool name; the others forward paths as they are. */
  gate: boolean;
  origin: string;
  proc: Running;
}

/** The environment of a measured process: the bench's own, without any Portcullis, OpenTelemetry or Node settings of its own. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PORTCULLIS_') && !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
}

export async function helper(pkg: ShippedPackage, role: string, args: string[], cwd: string): Promise<{ proc: Running; url: string }> {
  const proc = startProcess(role, process.execPath, [pkg.servers, role, ...args], cleanEnv(), cwd);
  return { proc, url: `http://127.0.0.1:${await readyLine(proc)}` };
}

export interface GateSetup {
  pkg: ShippedPackage;
  dir: string;
  bundleServer: string;
  /** The key the bundle server's bundle is signed with. */
  bundlePublicKey: string;
  /** The CA the bundle server's certificate is from, and the token it wants. */
  controllerTrust: ControllerTrust;
  sink: string;
}

/** Starts the sidecar and times it from spawn to serving: its proxy port accepts and /readyz answers 200. */
export async function startGate(s: GateSetup, kind: Gate, name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ target: Target; readyMs: number; ledger: string; admin: string }> {
  const dir = join(s.dir, name);
  await mkdir(dir, { recursive: true });
  const [port, adminPort] = [await freePort(), await freePort()];
  const ledger = join(dir, 'ledger', 'ledger.jsonl');
  await mkdir(join(dir, 'ledger'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    PORTCULLIS_CONTROLLER_URL: s.bundleServer,
    PORTCULLIS_BUNDLE: 'bench/policies',
    PORTCULLIS_BUNDLE_PUBLIC_KEY: s.bundlePublicKey,
    PORTCULLIS_CONTROLLER_CA: s.controllerTrust.caPem,
    PORTCULLIS_CONTROLLER_TOKEN_FILE: s.controllerTrust.tokenFile,
    // As injected: rotated segments beyond the newest two are deleted.
    PORTCULLIS_LEDGER_KEEP_SEGMENTS: '2',
    PORTCULLIS_LISTEN_HOST: '127.0.0.1',
    PORTCULLIS_PORT: String(port),
    PORTCULLIS_ADMIN_HOST: '127.0.0.1',
    PORTCULLIS_ADMIN_PORT: String(adminPort),
    PORTCULLIS_POD_NAME: 'agent-0',
    PORTCULLIS_POD_NAMESPACE: 'bench',
    PORTCULLIS_SERVICE_ACCOUNT: 'agent',
    ...(kind === 'bare'
      ? { PORTCULLIS_LEDGER: '', OTEL_SDK_DISABLED: 'true', PORTCULLIS_LOG_LEVEL: 'silent' }
      : { PORTCULLIS_LEDGER: ledger, OTEL_EXPORTER_OTLP_ENDPOINT: s.sink, OTEL_SERVICE_NAME: 'portcullis-sidecar' }),
    ...(kind === 'write' ? { PORTCULLIS_LEDGER_DURABILITY: 'write' } : {}),
    ...extraEnv,
  };
  const started = performance.now();
  // PORTCULLIS_BENCH_CPU_PROF=<folder>: each sidecar writes a V8 CPU profile there when it stops (docs/benchmarks.md).
  const profile = process.env.PORTCULLIS_BENCH_CPU_PROF;
  const node = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const proc = startProcess(name, process.execPath, [...node, s.pkg.bin, 'sidecar'], env, dir);
  await untilServing(proc, port, `http://127.0.0.1:${adminPort}/readyz`, 30_000);
  const readyMs = performance.now() - started;
  return { target: { name, gate: true, origin: `http://127.0.0.1:${port}`, proc }, readyMs, ledger, admin: `http://127.0.0.1:${adminPort}` };
}

export async function startPlain(name: string, proc: Running, port: number): Promise<Target> {
  await untilServing(proc, port, undefined, 30_000);
  return { name, gate: false, origin: `http://127.0.0.1:${port}`, proc };
}

/** One request per target and workload: answered 200 with the upstream's own answer to it. */
export async function checkDelivery(targets: Target[], loads: Workload[]): Promise<void> {
  for (const t of targets) {
    for (const w of loads) {
      const r = await request(t.origin + w.path(t.gate), { method: w.request.method ?? 'GET', headers: w.request.headers ?? {}, body: w.request.body ?? null });
      const body = await r.body.text();
      if (r.statusCode !== 200 || !w.delivered(body)) throw new Error(`${t.name} ${w.name}: HTTP ${r.statusCode} without the upstream's answer: ${body.slice(0, 300)} ${t.proc.tail().slice(-500)}`);
    }
  }
}
