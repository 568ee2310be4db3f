/**
 * What an agent does in the capture tests, run in the pod's namespace as the
 * agent's UID with no proxy settings: one JSON operation per stdin line, one
 * JSON result per stdout line (same `id`). Node's own fetch, raw TCP, UDP,
 * DNS, TLS; nothing here knows a proxy exists.
 *
 * Usage: node --import tsx agent-client.ts
 */
import { createInterface } from 'node:readline';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { readFile } from 'node:fs/promises';

type Op =
  | { id: number; op: 'fetch'; url: string; headers?: Record<string, string> }
  | { id: number; op: 'tcp'; host: string; port: number }
  | { id: number; op: 'udp'; host: string; port: number; payload: string; waitMs: number }
  | { id: number; op: 'dns'; host: string }
  | { id: number; op: 'tls'; host: string; port: number; servername?: string; ca: string }
  | { id: number; op: 'timing'; url: string; proxy?: string; n: number }
  | { id: number; op: 'env' }
  | { id: number; op: 'read'; path: string };

const errCode = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (e as Error).message;

async function fetchOp(o: Extract<Op, { op: 'fetch' }>): Promise<unknown> {
  try {
    const res = await fetch(o.url, { headers: o.headers ?? {} });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
  } catch (e) {
    return { error: errCode(e) };
  }
}

function tcpOp(o: Extract<Op, { op: 'tcp' }>): Promise<unknown> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: o.host, port: o.port });
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('end', () => resolve({ connected: true, data }));
    s.on('error', (e) => resolve({ connected: false, error: errCode(e) }));
    s.setTimeout(3000, () => {
      s.destroy();
      resolve({ connected: false, error: 'timeout' });
    });
  });
}

/** Sends one datagram; `waitMs` bounds the wait for an answer that a dropping firewall never lets come. */
function udpOp(host: string, port: number, payload: Buffer, waitMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const done = (v: unknown): void => {
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    const timer = setTimeout(() => done({ answered: false }), waitMs);
    s.on('message', (m) => done({ answered: true, bytes: m.length, flags: m.length >= 4 ? m.readUInt16BE(2) : null }));
    s.on('error', (e) => done({ answered: false, error: errCode(e) }));
    s.send(payload, port, host);
  });
}

function dnsQuery(): Buffer {
  // ID 0x1234, RD, one question: tool.test A IN.
  const name = Buffer.concat([Buffer.from([4]), Buffer.from('tool'), Buffer.from([4]), Buffer.from('test'), Buffer.from([0])]);
  return Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])]);
}

function tlsOp(o: Extract<Op, { op: 'tls' }>): Promise<unknown> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: o.host, port: o.port, ca: o.ca, ...(o.servername !== undefined ? { servername: o.servername } : {}) });
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('end', () => resolve({ ok: true, data: data.trim(), authorized: s.authorized }));
    s.on('error', (e) => resolve({ ok: false, error: errCode(e), message: e.message }));
  });
}

function get(url: string, proxy: string | undefined): Promise<number> {
  const u = new URL(url);
  const p = proxy ? new URL(proxy) : undefined;
  return new Promise((resolve, reject) => {
    const r = request({ host: p ? p.hostname : u.hostname, port: p ? p.port : u.port || 80, path: p ? url : u.pathname, headers: { host: u.host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end();
  });
}

/** Medians of `n` sequential GETs (one connection each), captured or through the explicit proxy. */
async function timingOp(o: Extract<Op, { op: 'timing' }>): Promise<unknown> {
  const ms: number[] = [];
  for (let i = 0; i < o.n; i++) {
    const t = performance.now();
    const status = await get(o.url, o.proxy);
    if (status !== 200) return { error: `status ${status}` };
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: ms[Math.floor(ms.length / 2)], p90Ms: ms[Math.floor(ms.length * 0.9)] };
}

async function run(o: Op): Promise<unknown> {
  switch (o.op) {
    case 'fetch':
      return fetchOp(o);
    case 'tcp':
      return tcpOp(o);
    case 'udp':
      return udpOp(o.host, o.port, Buffer.from(o.payload), o.waitMs);
    case 'dns':
      return udpOp(o.host, 53, dnsQuery(), 3000);
    case 'tls':
      return tlsOp(o);
    case 'timing':
      return timingOp(o);
    case 'env':
      return { uid: process.getuid?.(), env: process.env };
    case 'read':
      return readFile(o.path, 'utf8').then(
        (text) => ({ text }),
        (e: unknown) => ({ error: errCode(e) }),
      );
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const o = JSON.parse(line) as Op;
  const result = await run(o);
  process.stdout.write(JSON.stringify({ id: o.id, result }) + '\n');
}
