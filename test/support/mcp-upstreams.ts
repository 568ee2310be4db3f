/**
 * Real MCP servers on loopback, built with the official SDKs unmodified: the
 * 1.x SDK (`@modelcontextprotocol/sdk`, 2025 revisions, stateless or with
 * sessions) and the 2.x SDK (`@modelcontextprotocol/server`, 2026-07-28 and
 * the 2025 revisions on one endpoint). Each keeps its own record of every HTTP
 * request that reached it (any path, any method) and of every tool call it
 * ran, so a test can show what arrived and what never did.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Server as ServerV1 } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, CreateMessageResultSchema, ListRootsResultSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Server as ServerV2, createMcpHandler, inputRequired } from '@modelcontextprotocol/server';

export type McpServerKind = 'v1-stateless' | 'v1-sessions' | 'v2';

export interface HttpArrival {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** The request's `_meta`, as the server's SDK handed it to the handler. */
  meta?: Record<string, unknown>;
}

export interface McpUpstream {
  kind: McpServerKind;
  /** The MCP endpoint, `http://127.0.0.1:PORT/mcp`. */
  url: string;
  origin: string;
  /** Every HTTP request that reached the server, in order. */
  arrivals: HttpArrival[];
  /** Every tool call the server ran, in order. */
  calls: ToolCall[];
  /** The tools it lists: change one to change what the next listing says. */
  tools: ListedTool[];
  close(): Promise<void>;
}

type ListedTool = { name: string; description: string; inputSchema: { type: 'object'; properties: Record<string, { type: string }> } };

const TOOLS: ListedTool[] = [
  { name: 'echo', description: 'Answers with its arguments', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'delete_all', description: 'Deletes everything', inputSchema: { type: 'object', properties: {} } },
];

function run(calls: ToolCall[], params: { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> }): { content: { type: 'text'; text: string }[] } {
  const args = params.arguments ?? {};
  calls.push({ name: params.name, arguments: args, ...(params._meta ? { meta: params._meta } : {}) });
  return { content: [{ type: 'text', text: `${params.name} ${JSON.stringify(args)}` }] };
}

/**
 * Unlisted tools of the 1.x server that ask the client something while they
 * run (a request on the call's own SSE stream) and answer with what came back:
 * the client's roots, or its model's reply; or the error it got instead.
 */
const ASKING: Record<string, { method: string; params?: Record<string, unknown>; schema: typeof ListRootsResultSchema | typeof CreateMessageResultSchema }> = {
  ask_roots: { method: 'roots/list', schema: ListRootsResultSchema },
  ask_sampling: { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: 'summarise' } }], maxTokens: 16 }, schema: CreateMessageResultSchema },
};

function serverV1(calls: ToolCall[], tools: ListedTool[]): ServerV1 {
  const server = new ServerV1({ name: 'upstream-v1', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const ask = ASKING[req.params.name];
    if (!ask) return run(calls, req.params as Parameters<typeof run>[1]);
    calls.push({ name: req.params.name, arguments: req.params.arguments ?? {} });
    try {
      const answer = await extra.sendRequest({ method: ask.method, ...(ask.params ? { params: ask.params } : {}) } as never, ask.schema);
      return { content: [{ type: 'text' as const, text: `answered ${JSON.stringify(answer)}` }] };
    } catch (e) {
      const err = e as { code?: number; message?: string; data?: unknown };
      return { content: [{ type: 'text' as const, text: `refused ${JSON.stringify({ code: err.code, message: err.message, data: err.data })}` }], isError: true };
    }
  });
  return server;
}

function serverV2(calls: ToolCall[], tools: ListedTool[]): ServerV2 {
  const server = new ServerV2({ name: 'upstream-v2', version: '2.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', async () => ({ tools }));
  server.setRequestHandler('tools/call', async (req, ctx) => {
    const ask = ASKING[req.params.name];
    if (!ask) return run(calls, req.params as Parameters<typeof run>[1]);
    // 2026-07-28: ask inside the result; the client retries with the answer.
    const answer = ctx.mcpReq.inputResponses?.['q'];
    if (answer === undefined) {
      const request = ask.method === 'roots/list' ? inputRequired.listRoots() : inputRequired.createMessage(ask.params as never);
      return inputRequired({ inputRequests: { q: request } }) as never;
    }
    calls.push({ name: req.params.name, arguments: req.params.arguments ?? {} });
    return { content: [{ type: 'text' as const, text: `answered ${JSON.stringify(answer)}` }] };
  });
  return server;
}

/** Node request → web Request (the 2.x handler's face), with the body already read. */
function webRequest(req: IncomingMessage, body: Buffer, origin: string): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(origin + req.url, { method: req.method!, headers, ...(hasBody ? { body } : {}) });
}

async function sendWeb(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  res.writeHead(response.status, headers);
  if (!response.body) return void res.end();
  Readable.fromWeb(response.body as import('node:stream/web').ReadableStream).pipe(res);
}

export async function startMcpUpstream(kind: McpServerKind): Promise<McpUpstream> {
  const arrivals: HttpArrival[] = [];
  const calls: ToolCall[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const tools = TOOLS.map((t) => ({ ...t }));
  const v2 = kind === 'v2' ? createMcpHandler(() => serverV2(calls, tools)) : undefined;
  let origin = '';

  const serve = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const path = req.url!.split('?')[0];
    if (path !== '/mcp') return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`no ${path} here`);
    if (v2) return sendWeb(res, await v2.fetch(webRequest(req, body, origin)));
    const parsed: unknown = body.length ? JSON.parse(body.toString('utf8')) : undefined;
    if (kind === 'v1-stateless') {
      const server = serverV1(calls, tools);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void transport.close().then(() => server.close()));
      await server.connect(transport);
      return transport.handleRequest(req, res, parsed);
    }
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!transport) {
      if (typeof sid === 'string') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void sessions.set(id, t) });
      t.onclose = () => t.sessionId && sessions.delete(t.sessionId);
      await serverV1(calls, tools).connect(t);
      transport = t;
    }
    return transport.handleRequest(req, res, parsed);
  };

  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      arrivals.push({ method: req.method!, url: req.url!, headers: req.headers, body: body.toString('utf8') });
      serve(req, res, body).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
        else res.destroy();
      });
    });
  });
  http.keepAliveTimeout = 200;
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    kind,
    url: `${origin}/mcp`,
    origin,
    arrivals,
    calls,
    tools,
    close: async () => {
      await v2?.close();
      for (const t of sessions.values()) await t.close();
      await new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      });
    },
  };
}
