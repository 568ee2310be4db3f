/**
 * Demo HTTP tools for the shipped policies: a payments API and a deploy API,
 * each logging what arrives. `portcullis demo-tools` serves them; the
 * end-to-end tests use them as real upstreams.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Arrival {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface DemoApi {
  url: string;
  port: number;
  log: Arrival[];
  close(): Promise<void>;
}

type Handler = (a: Arrival, res: ServerResponse) => void;

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

function parse(body: string): Record<string, unknown> {
  try {
    const v = JSON.parse(body);
    return typeof v === 'object' && v ? v : {};
  } catch {
    return {};
  }
}

async function serve(port: number, host: string, handler: Handler): Promise<DemoApi> {
  const log: Arrival[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a: Arrival = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      log.push(a);
      handler(a, res);
    });
  });
  // Advertised to clients as `Keep-Alive: timeout=…`: undici drops a pooled
  // connection whose advertised timeout is within 2 s, so a shorter one would
  // make the gate open a new connection for every call to the demo tools.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(port, host, r));
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${p}`,
    port: p,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function startPaymentsApi(port = 0, host = '127.0.0.1'): Promise<DemoApi> {
  const charges = [
    { id: 'ch_1', amount: 1200, currency: 'eur', card: { brand: 'visa', number: '4242424242424242' } },
    { id: 'ch_2', amount: 300, currency: 'eur', card: { brand: 'mastercard', number: '5555555555554444' } },
  ];
  return serve(port, host, (a, res) => {
    const path = a.url.split('?')[0];
    if (a.method === 'GET' && path === '/v1/charges') return json(res, 200, { charges });
    if (a.method === 'POST' && path === '/v1/charges') {
      const b = parse(a.body);
      const charge = { id: `ch_${charges.length + 1}`, amount: Number(b.amount), currency: String(b.currency ?? 'eur'), card: { brand: 'visa', number: '4000056655665556' } };
      charges.push(charge);
      return json(res, 201, charge);
    }
    return json(res, 404, { error: `no route ${a.method} ${path}` });
  });
}

export function startDeployApi(port = 0, host = '127.0.0.1'): Promise<DemoApi> {
  const deployments: unknown[] = [];
  return serve(port, host, (a, res) => {
    const path = a.url.split('?')[0];
    if (a.method === 'GET' && path === '/v1/deployments') return json(res, 200, { deployments });
    if (a.method === 'POST' && path === '/v1/deployments') {
      deployments.push(parse(a.body));
      return json(res, 201, { deployed: true, ...parse(a.body) });
    }
    if (a.method === 'POST' && path === '/v1/dry-run/deployments') {
      return json(res, 200, { dryRun: true, plan: `would deploy ${JSON.stringify(parse(a.body))}` });
    }
    return json(res, 404, { error: `no route ${a.method} ${path}` });
  });
}
