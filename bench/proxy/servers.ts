/**
 * The helper processes of the proxy benchmark, one role each so that no two
 * share an event loop. The suite compiles this file to plain JavaScript and
 * runs it with `node` alone (no loader in the measured processes):
 *
 *   upstream               the tools: any GET answers a small JSON body, a
 *                          POST answers how many body bytes arrived, and
 *                          POST /mcp is a stateless MCP server (JSON replies)
 *   node-proxy URL         the minimal Node proxy: node:http server, undici
 *                          Pool forwarding to URL, no policy
 *   otlp-sink              accepts OTLP/HTTP POST /v1/traces and discards it;
 *                          GET /stats says how much arrived
 *   bundle-server ARCHIVE DIR  what a sidecar's controller serves: the
 *                          compiled bundle at GET /v1/bundles/NS/NAME over TLS
 *                          (DIR/tls.crt, tls.key) for the sidecar's token
 *                          (DIR/token) only, long polls held and answered 304
 *                          while it is unchanged
 *
 * Each prints `READY <port>` once listening.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

const [role, arg] = process.argv.slice(2);
const SMALL_JSON = JSON.stringify({ deployments: [{ id: 'dep_1', service: 'api', version: '1.4.2', status: 'running' }] });

function listen(server: ReturnType<typeof createServer> | ReturnType<typeof createTlsServer>): void {
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

interface JsonRpcRequest {
  id?: string | number;
  method?: string;
  params?: { name?: string; arguments?: Record<string, unknown>; protocolVersion?: string };
}

/** A stateless MCP server with one tool, read_file, answering in JSON (no SSE). */
function mcpReply(message: JsonRpcRequest): unknown {
  const ok = (result: unknown): unknown => ({ jsonrpc: '2.0', id: message.id ?? null, result });
  switch (message.method) {
    case 'initialize':
      return ok({ protocolVersion: message.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'bench-fs', version: '1.0.0' } });
    case 'tools/list':
      return ok({ tools: [{ name: 'read_file', description: 'reads a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }] });
    case 'tools/call':
      return ok({ content: [{ type: 'text', text: `contents of ${String(message.params?.arguments?.path ?? '')}` }] });
    default:
      return { jsonrpc: '2.0', id: message.id ?? null, error: { code: -32601, message: `method ${String(message.method)} not found` } };
  }
}

function upstream(): void {
  listen(
    createServer((req, res) => {
      if (req.method === 'GET') {
        req.resume();
        return void req.on('end', () => sendJson(res, 200, SMALL_JSON));
      }
      readBody(req).then(
        (body) => {
          if (req.url !== '/mcp') return sendJson(res, 200, JSON.stringify({ accepted: true, bytes: body.length }));
          const message = JSON.parse(body.toString('utf8')) as JsonRpcRequest;
          if (message.id === undefined) return void res.writeHead(202).end();
          sendJson(res, 200, JSON.stringify(mcpReply(message)));
        },
        () => sendJson(res, 400, '{"error":"unreadable body"}'),
      );
    }),
  );
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function nodeProxy(): void {
  const pool = new Pool(new URL(arg!).origin, { connections: 64, keepAliveTimeout: 30_000 });
  listen(
    createServer((req, res) => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      pool.request({ path: req.url!, method: req.method as 'GET', headers, body: hasBody ? req : null }).then(
        (r) => {
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
          res.writeHead(r.statusCode, out);
          r.body.pipe(res);
        },
        () => res.writeHead(502).end(),
      );
    }),
  );
}

function otlpSink(): void {
  let requests = 0;
  let bytes = 0;
  listen(
    createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/stats') return sendJson(res, 200, JSON.stringify({ requests, bytes }));
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        requests++;
        // An empty ExportTraceServiceResponse: everything accepted.
        res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf', 'content-length': 0 }).end();
      });
    }),
  );
}

/**
 * The controller's bundle endpoint as an injected sidecar meets it: over TLS
 * (DIR/tls.crt, DIR/tls.key) and only for the sidecar's token (DIR/token).
 */
function bundleServer(): void {
  const archive = readFileSync(arg!);
  const dir = process.argv[4]!;
  const token = readFileSync(join(dir, 'token'), 'utf8').trim();
  const tls = { cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) };
  listen(
    createTlsServer(tls, (req, res) => {
      req.resume();
      const url = new URL(req.url ?? '/', 'https://bench');
      if (req.headers.authorization !== `Bearer ${token}`) return sendJson(res, 401, '{"error":"no token"}');
      if (req.method !== 'GET' || !url.pathname.startsWith('/v1/bundles/')) return sendJson(res, 404, '{"error":"not found"}');
      if (req.headers['if-none-match'] === undefined) {
        return void res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': archive.length }).end(archive);
      }
      // The bundle never changes: hold the long poll for its wait, then say so.
      const waitMs = Math.min(60_000, Number.parseInt(url.searchParams.get('wait') ?? '30000', 10) || 30_000);
      const timer = setTimeout(() => res.writeHead(304).end(), waitMs);
      res.on('close', () => clearTimeout(timer));
    }),
  );
}

const roles: Record<string, () => void> = { upstream, 'node-proxy': nodeProxy, 'otlp-sink': otlpSink, 'bundle-server': bundleServer };
const run = roles[role ?? ''];
if (!run || ((role === 'node-proxy' || role === 'bundle-server') && !arg) || (role === 'bundle-server' && !process.argv[4])) {
  process.stderr.write('usage: servers.js upstream | node-proxy UPSTREAM_URL | otlp-sink | bundle-server ARCHIVE DIR\n');
  process.exit(2);
}
run();
