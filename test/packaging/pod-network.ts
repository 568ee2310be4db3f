/**
 * Runs a process in a network namespace of its own, as a container runs in its
 * pod's: it may listen on the fixed ports a chart declares (Jaeger's 4317,
 * 4318, 16686, 13133) without clashing with anything on this machine or with
 * another run of the same test, and it is reached at a pod address, not at
 * localhost, so a listener bound to loopback alone is caught as the kubelet's
 * probes and a Service would catch it.
 *
 * `unshare --net` makes the namespace (as root; otherwise with a user
 * namespace, `--user --map-root-user`); pod-network-relay.ts runs in it and
 * forwards one unix socket per port to podIp:port, which is how requests from
 * this process get in. Linux only, and needs `unshare` and `ip`: a machine
 * without them fails the test with the reason, it does not skip it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './support.ts';

/** What the relay is told (written as JSON to a file it reads). */
export interface RelaySpec {
  socketDir: string;
  podIp: string;
  ports: number[];
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface PodNetworkOptions {
  command: string;
  args: readonly string[];
  /** The process's whole environment: nothing of the test's is added. */
  env: Readonly<Record<string, string>>;
  /** The ports to reach from outside. */
  ports: readonly number[];
  /** The pod's address; a kind pod-network address by default. */
  podIp?: string;
}

export interface HttpRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Listener {
  address: string;
  port: number;
}

export interface PodNetworkProcess {
  readonly podIp: string;
  /** One HTTP/1.1 request to podIp:port in the namespace. Rejects when nothing answers there (yet). */
  http(port: number, req: HttpRequest): Promise<HttpResponse>;
  /** An HTTP/2 cleartext session to podIp:port in the namespace (gRPC). */
  http2(port: number): ClientHttp2Session;
  /** TCP sockets listening in the namespace right now (from the relay's /proc/PID/net/tcp{,6}). */
  listeners(): Listener[];
  /** Everything the relay and the process printed so far. */
  output(): string;
  /** The exit code or signal once the process has ended, else undefined. */
  exit(): string | undefined;
  /** Stops the process as the kubelet stops a container (SIGTERM, then a kill after 30 s); its exit code or signal. */
  close(): Promise<string | undefined>;
}

const RELAY = join(import.meta.dirname, 'pod-network-relay.ts');

/** An address from /proc/net/tcp (IPv4: one little-endian word) or tcp6 (four of them), in the usual notation. */
export function procAddress(hex: string): string {
  if (hex.length === 8) return hex.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join('.');
  const bytes = hex.match(/.{8}/g)!.flatMap((w) => w.match(/../g)!.reverse());
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(parseInt(bytes[i]! + bytes[i + 1]!, 16).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function listenersOf(pid: number): Listener[] {
  const out: Listener[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is f[1] (hex address:port), st is f[3] (0A = LISTEN).
      if (f.length < 4 || f[3] !== '0A') continue;
      const [addr, port] = f[1]!.split(':');
      out.push({ address: procAddress(addr!), port: parseInt(port!, 16) });
    }
  }
  return out.sort((a, b) => a.port - b.port);
}

/**
 * A new network namespace, and a new PID namespace whose first process is the
 * relay: when the relay ends, however it ends, the kernel ends the command
 * too, so no process outlives the test. `--kill-child` ends the relay when
 * unshare is killed.
 */
function unshareArgs(): string[] {
  const user = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
  return [...user, '--net', '--pid', '--fork', '--kill-child'];
}

/**
 * Asks the relay to stop the command (stdin closed: SIGTERM to the command,
 * which Jaeger answers with an orderly shutdown), waits as long as a pod's
 * termination grace period, then kills the lot.
 */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

export function startInPodNetwork(options: PodNetworkOptions): PodNetworkProcess {
  const socketDir = mkdtempSync(join(tmpdir(), 'portcullis-podnet-'));
  const podIp = options.podIp ?? '10.244.0.7';
  const spec: RelaySpec = { socketDir, podIp, ports: [...options.ports], command: options.command, args: [...options.args], env: { ...options.env } };
  const specPath = join(socketDir, 'spec.json');
  writeFileSync(specPath, JSON.stringify(spec));
  const child = spawn('unshare', [...unshareArgs(), '--', process.execPath, '--import', 'tsx', RELAY, specPath], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  child.on('error', (e) => (text += `unshare: ${e.message}\n`));
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (c: Buffer) => (text = (text + c.toString()).slice(-64 * 1024)));
  const socket = (port: number): string => {
    if (!spec.ports.includes(port)) throw new Error(`port ${port} is not relayed (relayed: ${spec.ports.join(', ')})`);
    return join(socketDir, `${port}.sock`);
  };

  return {
    podIp,
    http(port, req) {
      return new Promise((resolve, reject) => {
        const body = req.body ?? '';
        const r = request(
          {
            socketPath: socket(port),
            method: req.method ?? 'GET',
            path: req.path,
            headers: { host: `${podIp}:${port}`, 'content-length': String(Buffer.byteLength(body)), ...req.headers },
            agent: false,
            timeout: 5000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        r.on('timeout', () => r.destroy(new Error(`no answer from ${podIp}:${port}${req.path} in 5 s`)));
        r.on('error', reject);
        r.end(body);
      });
    },
    http2(port) {
      const path = socket(port);
      return http2Connect(`http://${podIp}:${port}`, { createConnection: () => connect(path) });
    },
    // unshare itself entered the new network namespace before it forked the relay.
    listeners: () => listenersOf(child.pid!),
    output: () => text,
    exit: () => (child.exitCode ?? child.signalCode ?? undefined)?.toString(),
    async close() {
      await stop(child);
      rmSync(socketDir, { recursive: true, force: true });
      return (child.exitCode ?? child.signalCode ?? undefined)?.toString();
    },
  };
}
