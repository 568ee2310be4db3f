/** Loopback peers for sidecar tests: a logging upstream, the sidecar itself, a raw HTTP client. */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSidecar, type SidecarDeps } from '../../src/sidecar/app.ts';
import { loadConfig, type ConfigOverrides } from '../../src/config/config.ts';
import type { FastifyInstance } from 'fastify';

export interface Arrival {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface LoggingUpstream {
  port: number;
  origin: string;
  log: Arrival[];
  server: Server;
  close(): Promise<void>;
}

export type UpstreamHandler = (a: Arrival, res: import('node:http').ServerResponse) => void;

const defaultHandler: UpstreamHandler = (a, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, method: a.method, url: a.url }));
};

export async function startUpstream(handler: UpstreamHandler = defaultHandler): Promise<LoggingUpstream> {
  const log: Arrival[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      log.push(a);
      handler(a, res);
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    log,
    server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export interface RunningSidecar {
  app: FastifyInstance;
  port: number;
  close(): Promise<void>;
}

export async function startSidecar(deps: SidecarDeps, overrides: ConfigOverrides = {}, env: Record<string, string> = {}): Promise<RunningSidecar> {
  const config = loadConfig({ PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '100', ...env }, { port: '0', adminPort: '0', ...overrides });
  const app = buildSidecar(config, deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, close: () => app.close() };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): any;
}

export function send(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
