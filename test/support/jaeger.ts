/**
 * The real Jaeger (v2, the `jaeger` binary scripts/e2e-tools.sh builds) for
 * tests: in-memory storage, OTLP receivers, the query service with its UI and
 * HTTP API, and the health check, all on loopback ports chosen here.
 *
 * Jaeger's built-in all-in-one configuration listens on fixed ports (OTLP
 * 4317/4318, query 16686/16685, health 13133/13132, its own metrics 8888, and
 * 5778, 5779, 9411, 14250, 14268, 27777, 27778, UDP 6831/6832 for receivers
 * and extensions nothing here uses), so two test files starting it at once
 * would collide. We hand it a configuration of our own instead, with a free
 * port for every listener it opens, and turn off its self-tracing and metrics
 * server, which would otherwise open or dial fixed ports.
 *
 * Traces are read back through the API the Jaeger UI itself uses
 * (`/api/traces`), so a test sees what a person sees in the UI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPath } from './tools.ts';

/** A tag (span attribute) or a process tag (resource attribute) as Jaeger's UI API returns it. */
export interface JaegerKeyValue {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: string | number | boolean;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerLog {
  timestamp: number;
  fields: JaegerKeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: JaegerReference[] | null;
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags: JaegerKeyValue[];
  logs: JaegerLog[] | null;
  processID: string;
  warnings: string[] | null;
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerKeyValue[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings: string[] | null;
}

export interface TraceSearch {
  service: string;
  operation?: string;
  /** Span tags every matching trace must hold on one span (the UI's "Tags" box). */
  tags?: Record<string, string>;
  limit?: number;
  /** Start of the search window; default: the last hour. */
  since?: Date;
}

export interface Jaeger {
  /** OTLP/HTTP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (`/v1/traces` is appended by exporters). */
  readonly otlpHttpUrl: string;
  /** OTLP/gRPC `host:port`. */
  readonly otlpGrpcAddress: string;
  /** The UI and its HTTP API (`/api/...`). */
  readonly queryUrl: string;
  /** Every port this instance was configured to listen on, by listener. */
  readonly ports: Readonly<Record<JaegerListener, number>>;
  readonly pid: number;
  /** Jaeger's own log (stdout and stderr). */
  readonly logPath: string;
  /** GET on the query service; the parsed JSON body, or an error naming the status. */
  api(path: string): Promise<unknown>;
  /** The traces a search in the UI finds. */
  search(q: TraceSearch): Promise<JaegerTrace[]>;
  /** One trace by its ID, or undefined while Jaeger does not have it. */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
  /**
   * Repeats a search until `done` holds over its result (spans arrive in
   * batches, and Jaeger's own pipeline batches again), or throws at the deadline
   * with what was found.
   */
  waitForSearch(q: TraceSearch, done: (traces: JaegerTrace[]) => boolean, timeoutMs?: number): Promise<JaegerTrace[]>;
  /** Like `waitForSearch`, for one trace by ID. */
  waitForTrace(traceId: string, done: (trace: JaegerTrace) => boolean, timeoutMs?: number): Promise<JaegerTrace>;
  /** The TCP ports the process listens on right now (from /proc), to prove none is fixed. */
  listeningPorts(): number[];
  close(): Promise<void>;
}

export type JaegerListener = 'otlpGrpc' | 'otlpHttp' | 'queryHttp' | 'queryGrpc' | 'health';

const LISTENERS: readonly JaegerListener[] = ['otlpGrpc', 'otlpHttp', 'queryHttp', 'queryGrpc', 'health'];

/** A loopback port free right now (closed before it is returned; a race lost to another process is retried by `startJaeger`). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The all-in-one configuration (cmd/jaeger/internal/all-in-one.yaml) cut down
 * to what Portcullis's evidence needs: OTLP in, memory storage, query out, and
 * the health check to wait on. Every endpoint is 127.0.0.1 with our port.
 */
export function jaegerConfig(ports: Readonly<Record<JaegerListener, number>>): string {
  const at = (p: number): string => `127.0.0.1:${p}`;
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    # The collector's default is a Prometheus endpoint on :8888.
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_query:
    storage:
      traces: memstore
    # On by default in v2: the query service would export its own spans over OTLP/gRPC to localhost:4317.
    enable_tracing: false
    http:
      endpoint: "${at(ports.queryHttp)}"
    grpc:
      endpoint: "${at(ports.queryGrpc)}"
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  healthcheckv2:
    use_v2: true
    http:
      endpoint: "${at(ports.health)}"
    # No "grpc" key: present, even empty as in the all-in-one configuration, it serves gRPC health on :13132.

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: "${at(ports.otlpGrpc)}"
      http:
        endpoint: "${at(ports.otlpHttp)}"

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

const tail = (text: string): string => text.split('\n').slice(-40).join('\n');

/** TCP ports in LISTEN state held by `pid`: its socket inodes matched against /proc/net/tcp{,6}. */
export function listeningPortsOf(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // The descriptor closed between readdir and readlink.
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is f[1] (hex ip:port), st is f[3] (0A = LISTEN), inode is f[9].
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Launched {
  child: ChildProcess;
  ports: Record<JaegerListener, number>;
  logPath: string;
  /** Everything the process printed, also kept in memory: the file may lag behind when it exits. */
  output: { text: string };
  /** Resolves once the process exited and its output streams closed. */
  closed: Promise<void>;
}

/** Thrown when Jaeger exits before it is ready; `portInUse` when a listener's port was taken meanwhile. */
class JaegerExited extends Error {
  constructor(message: string, readonly portInUse: boolean) {
    super(message);
  }
}

/** Resolves when the health check says the collector is up and the query API answers; rejects if the process exits first. */
async function waitReady(l: Launched, timeoutMs: number): Promise<void> {
  const { child, ports, logPath, output } = l;
  const end = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < end) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await l.closed;
      throw new JaegerExited(`jaeger exited (${child.exitCode ?? child.signalCode}) before it was ready; its log (${logPath}) ends:\n${tail(output.text)}`, /address already in use/.test(output.text));
    }
    try {
      const health = await fetch(`http://127.0.0.1:${ports.health}/status`, { signal: AbortSignal.timeout(2000) });
      last = `health ${health.status} ${(await health.text()).slice(0, 200)}`;
      if (health.status === 200) {
        const services = await fetch(`http://127.0.0.1:${ports.queryHttp}/api/services`, { signal: AbortSignal.timeout(2000) });
        last = `query ${services.status}`;
        await services.arrayBuffer();
        if (services.ok) return;
      }
    } catch (e) {
      last = (e as Error).message;
    }
    await pause(100);
  }
  throw new Error(`jaeger not ready after ${timeoutMs} ms (last: ${last}); its log (${logPath}) ends:\n${tail(output.text)}`);
}

/** The environment for Jaeger: ours, minus what would point its own OpenTelemetry SDK or listeners elsewhere. */
function jaegerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_') && k !== 'JAEGER_LISTEN_HOST') env[k] = v;
  return env;
}

async function launch(dir: string, attempt: number): Promise<Launched> {
  const ports = {} as Record<JaegerListener, number>;
  const taken = new Set<number>();
  for (const l of LISTENERS) {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    ports[l] = p;
  }
  const configPath = join(dir, `config-${attempt}.yaml`);
  writeFileSync(configPath, jaegerConfig(ports));
  const logPath = join(dir, `jaeger-${attempt}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(toolPath('jaeger'), [`--config=${configPath}`], { stdio: ['ignore', 'pipe', 'pipe'], env: jaegerEnv() });
  const output = { text: '' };
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.pipe(log);
    stream.on('data', (c: Buffer) => (output.text = (output.text + c.toString()).slice(-64 * 1024)));
  }
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, ports, logPath, output, closed };
}

export interface StartJaegerOptions {
  /** How long to wait for readiness (a loaded machine starts the binary slowly). */
  readyTimeoutMs?: number;
}

/**
 * Starts Jaeger and waits until it is ready. A port taken by someone else
 * between choosing and binding it makes Jaeger exit; that is retried with new
 * ports, any other failure is thrown with the end of Jaeger's log.
 */
export async function startJaeger(options: StartJaegerOptions = {}): Promise<Jaeger> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-jaeger-'));
  let started: Launched | undefined;
  for (let attempt = 1; !started; attempt++) {
    const l = await launch(dir, attempt);
    try {
      await waitReady(l, options.readyTimeoutMs ?? 60_000);
      started = l;
    } catch (e) {
      await stop(l.child);
      // The directory stays: the error names the log in it.
      if (!(e instanceof JaegerExited && e.portInUse) || attempt >= 3) throw e;
    }
  }
  const { child, ports, logPath } = started;
  const queryUrl = `http://127.0.0.1:${ports.queryHttp}`;

  const api = async (path: string): Promise<unknown> => {
    const res = await fetch(queryUrl + path);
    const text = await res.text();
    if (!res.ok) throw new Error(`jaeger ${path}: ${res.status} ${text.slice(0, 500)}`);
    return JSON.parse(text) as unknown;
  };

  const search = async (q: TraceSearch): Promise<JaegerTrace[]> => {
    const params = new URLSearchParams({ service: q.service, limit: String(q.limit ?? 100) });
    if (q.operation) params.set('operation', q.operation);
    if (q.tags) params.set('tags', JSON.stringify(q.tags));
    if (q.since) params.set('start', String(q.since.getTime() * 1000));
    const body = (await api(`/api/traces?${params}`)) as { data: JaegerTrace[] | null };
    return body.data ?? [];
  };

  const trace = async (traceId: string): Promise<JaegerTrace | undefined> => {
    const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
    const text = await res.text();
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`jaeger /api/traces/${traceId}: ${res.status} ${text.slice(0, 500)}`);
    return ((JSON.parse(text) as { data: JaegerTrace[] | null }).data ?? [])[0];
  };

  const describe = (traces: JaegerTrace[]): string =>
    traces.map((t) => `${t.traceID}: ${t.spans.map((s) => s.operationName).join(', ')}`).join('\n') || 'no traces';

  return {
    otlpHttpUrl: `http://127.0.0.1:${ports.otlpHttp}`,
    otlpGrpcAddress: `127.0.0.1:${ports.otlpGrpc}`,
    queryUrl,
    ports,
    pid: child.pid!,
    logPath,
    api,
    search,
    trace,
    async waitForSearch(q, done, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const traces = await search(q);
        if (done(traces)) return traces;
        if (Date.now() > end) throw new Error(`jaeger: search ${JSON.stringify(q)} did not find what was expected in ${timeoutMs} ms; found:\n${describe(traces)}`);
        await pause(150);
      }
    },
    async waitForTrace(traceId, done, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const t = await trace(traceId);
        if (t && done(t)) return t;
        if (Date.now() > end) throw new Error(`jaeger: trace ${traceId} not as expected in ${timeoutMs} ms; found:\n${t ? describe([t]) : 'nothing'}`);
        await pause(150);
      }
    },
    listeningPorts: () => listeningPortsOf(child.pid!),
    async close() {
      await stop(child);
      if (!process.env.PORTCULLIS_KEEP_JAEGER) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Span tags (or process tags) by key. */
export function tagsOf(kvs: readonly JaegerKeyValue[] | null | undefined): Record<string, JaegerKeyValue> {
  const out: Record<string, JaegerKeyValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = kv;
  return out;
}

/** The span this one is a CHILD_OF, if any. */
export function parentOf(span: JaegerSpan): string | undefined {
  return span.references?.find((r) => r.refType === 'CHILD_OF')?.spanID;
}
