/**
 * A real S3-compatible server for tests: the versitygw gateway
 * (scripts/e2e-tools.sh builds it from Go modules) serving a temporary
 * directory through its posix backend, on a loopback port chosen here, with
 * one root account. `stop()` and `start()` take it down and bring it back on
 * the same port over the same directory, which is how a test shows an outage
 * and a recovery; `dir` lets a test reach behind the S3 API to alter or
 * delete a stored object as an attacker with write access to the bucket would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '../../src/evidence/shipping/s3-client.ts';
import { toolPath } from './tools.ts';

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The posix root: bucket B's object K is the file `dir/B/K`. */
  dir: string;
  /** A client with the root account. */
  client(): S3Client;
  /** Stops the gateway (the directory stays). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops it and removes the directory. */
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Starts versitygw and resolves once it prints that it listens; rejects with its output if it exits first. */
function launch(port: number, dir: string, access: string, secret: string): Promise<Running> {
  const child = spawn(toolPath('versitygw'), ['--access', access, '--secret', secret, '--port', `127.0.0.1:${port}`, 'posix', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Without --quiet: the banner saying it listens is the readiness signal (it also logs each request; the tail is kept).
  let output = '';
  let ready = false;
  return new Promise<Running>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`versitygw did not report listening on 127.0.0.1:${port} within 20 s:\n${output}`));
    }, 20_000);
    const onData = (c: Buffer): void => {
      if (ready) return;
      output = (output + c.toString()).slice(-16 * 1024);
      if (/listening on/i.test(output) && output.includes(`127.0.0.1:${port}`)) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      if (ready) return;
      clearTimeout(timer);
      reject(Object.assign(new Error(`versitygw exited (${code ?? signal}) before listening:\n${output}`), { portInUse: /address already in use/.test(output) }));
    });
  });
}

/** Resolves once a TCP connection to the port succeeds: the banner is printed just before the listener binds. */
async function acceptsConnections(port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`versitygw exited (${child.exitCode ?? child.signalCode}) before accepting connections`);
    if (Date.now() > end) throw new Error(`versitygw printed its banner but accepts no connection on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function halt(r: Running | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10_000);
  await r.exited;
  clearTimeout(timer);
}

/** Starts a server over a fresh directory, with `buckets` created. */
export async function startS3Server(options: { buckets?: string[] } = {}): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-s3-'));
  const accessKeyId = 'portcullis-test';
  const secretAccessKey = 'portcullis-test-secret-key';
  let port = 0;
  let running: Running | undefined;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      running = await launch(port, dir, accessKeyId, secretAccessKey);
      await acceptsConnections(port, running.child);
      break;
    } catch (e) {
      // The port was taken between choosing and binding it.
      if (!(e as { portInUse?: boolean }).portInUse || attempt >= 4) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  const server: S3Server = {
    endpoint,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    dir,
    client() {
      const c = new S3Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });
      clients.push(c);
      return c;
    },
    async stop() {
      await halt(running);
      running = undefined;
    },
    async start() {
      if (running) return;
      running = await launch(port, dir, accessKeyId, secretAccessKey);
      await acceptsConnections(port, running.child);
    },
    async close() {
      await halt(running);
      running = undefined;
      await Promise.allSettled(clients.map((c) => c.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const admin = server.client();
  for (const b of options.buckets ?? []) await admin.createBucket(b);
  return server;
}
