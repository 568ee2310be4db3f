/**
 * Starting and stopping the benchmark's server processes. Every process's
 * output is drained (a full pipe would stall the server) and its byte count
 * kept, with the last lines for error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { request } from 'undici';

export interface Running {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Bytes the process wrote to stdout and stderr (its logs). */
  outputBytes(): number;
  /** The end of its output, for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

export function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Running {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let last = '';
  const keep = (c: Buffer): void => {
    bytes += c.length;
    last = (last + c.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    name,
    child,
    pid: child.pid!,
    outputBytes: () => bytes,
    tail: () => last,
    stop: () => stopChild(child),
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the port a helper server printed as `READY <port>`. */
export function readyLine(p: Running): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer): void => {
      out += c.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        p.child.stdout!.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    p.child.stdout!.on('data', onData);
    p.child.once('exit', (code) => reject(new Error(`${p.name} exited with ${code} before it was ready: ${p.tail()}`)));
  });
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function readyz(url: string): Promise<boolean> {
  try {
    const r = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
    await r.body.dump();
    return r.statusCode === 200;
  } catch {
    return false;
  }
}

/**
 * Polls (every 2 ms, the resolution of the measurement) until the port
 * accepts and, when given, the readiness URL answers 200; fails when the
 * process exits or `timeoutMs` passes.
 */
export async function untilServing(p: Running, port: number, readyUrl: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let listening = false;
  while (performance.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode} before it was ready: ${p.tail()}`);
    listening ||= await accepts(port);
    if (listening && (readyUrl === undefined || (await readyz(readyUrl)))) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`${p.name} was not ready within ${timeoutMs} ms: ${p.tail()}`);
}
