/**
 * The tools of the capture tests, in the "remote" namespace on non-loopback
 * addresses: HTTP, TLS (its own certificate), a raw TCP service, a UDP
 * service and a DNS resolver. Every arrival is printed as one JSON line: the
 * tests read what was delivered from here, not from the gate.
 *
 * Usage: node --import tsx remote-peer.ts SPEC_JSON
 */
import { createServer as httpServer } from 'node:http';
import { createServer as tcpServer } from 'node:net';
import { createServer as tlsServer } from 'node:tls';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

interface Spec {
  http: { host: string; port: number }[];
  tls: { host: string; port: number }[];
  tcp: { host: string; port: number }[];
  udp: { host: string; port: number }[];
  dns: { host: string; port: number };
  cert: string;
  key: string;
}

const spec = JSON.parse(process.argv[2]!) as Spec;
const log = (o: Record<string, unknown>): boolean => process.stdout.write(JSON.stringify(o) + '\n');
const listening: Promise<void>[] = [];
const listen = (s: { listen: (port: number, host: string, cb: () => void) => unknown }, host: string, port: number): void => {
  listening.push(new Promise((r) => s.listen(port, host, () => r())));
};

for (const { host, port } of spec.http) {
  const s = httpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      log({ kind: 'http', at: `${host}:${port}`, from: req.socket.remoteAddress, method: req.method, url: req.url, headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ served: `${host}:${port}`, url: req.url }));
    });
  });
  s.keepAliveTimeout = 200;
  listen(s, host, port);
}
for (const { host, port } of spec.tls) {
  const s = tlsServer({ cert: readFileSync(spec.cert), key: readFileSync(spec.key) }, (socket) => {
    log({ kind: 'tls', at: `${host}:${port}`, from: socket.remoteAddress, servername: (socket as unknown as { servername?: string }).servername ?? null });
    socket.end(`tls-ok ${host}\n`);
  });
  s.on('tlsClientError', () => undefined);
  listen(s, host, port);
}
for (const { host, port } of spec.tcp) {
  const s = tcpServer((socket) => {
    log({ kind: 'tcp', at: `${host}:${port}`, from: socket.remoteAddress });
    socket.end('tcp-ok\n');
  });
  listen(s, host, port);
}
for (const { host, port } of spec.udp) {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (m, rinfo) => {
    log({ kind: 'udp', at: `${host}:${port}`, from: rinfo.address, payload: m.toString() });
    s.send(m, rinfo.port, rinfo.address);
  });
  listening.push(new Promise((r) => s.bind(port, host, () => r())));
}
{
  const s = createSocket('udp4');
  // A resolver that answers every query with NOERROR and no records: enough to show DNS gets an answer.
  s.on('message', (m, rinfo) => {
    log({ kind: 'dns', at: `${spec.dns.host}:${spec.dns.port}`, from: rinfo.address });
    const answer = Buffer.from(m);
    answer.writeUInt16BE(0x8180, 2);
    s.send(answer, rinfo.port, rinfo.address);
  });
  listening.push(new Promise((r) => s.bind(spec.dns.port, spec.dns.host, () => r())));
}
await Promise.all(listening);
log({ kind: 'ready' });
