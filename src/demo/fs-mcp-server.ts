/**
 * A demo MCP filesystem server over Streamable HTTP (stateless, SSE
 * responses), holding its files in memory. It is the `fs` tool of the shipped
 * policies: `portcullis demo-tools` serves it, and the end-to-end tests use
 * it as the real upstream whose own log shows what arrived.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export interface ToolCallLog {
  name: string;
  arguments: Record<string, unknown>;
}

export interface DemoFsServer {
  url: string;
  port: number;
  files: Map<string, string>;
  /** Every tool call that reached this server, in order. */
  calls: ToolCallLog[];
  close(): Promise<void>;
}

const SEED: Array<[string, string]> = [
  ['/prod/config.yaml', 'replicas: 3\nimage: api:1.4.2\n'],
  ['/tmp/notes.txt', 'remember the milk\n'],
  ['/workspace/README.md', '# workspace\n'],
];

const TOOLS = [
  { name: 'read_file', description: 'Read a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
  { name: 'list_directory', description: 'List a directory', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
  { name: 'write_file', description: 'Write a file', inputSchema: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] } },
  { name: 'delete_file', description: 'Delete a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
];

function text(t: string, isError = false): { content: Array<{ type: 'text'; text: string }>; isError?: boolean } {
  return { content: [{ type: 'text', text: t }], ...(isError ? { isError } : {}) };
}

function runTool(files: Map<string, string>, name: string, args: Record<string, unknown>): ReturnType<typeof text> {
  const path = String(args.path ?? '');
  switch (name) {
    case 'read_file':
      return files.has(path) ? text(files.get(path)!) : text(`no such file: ${path}`, true);
    case 'list_directory': {
      const prefix = path.endsWith('/') ? path : path + '/';
      return text([...files.keys()].filter((f) => f.startsWith(prefix)).sort().join('\n'));
    }
    case 'write_file':
      files.set(path, String(args.content ?? ''));
      return text(`wrote ${path}`);
    case 'delete_file':
      return files.delete(path) ? text(`deleted ${path}`) : text(`no such file: ${path}`, true);
    default:
      return text(`unknown tool ${name}`, true);
  }
}

function mcpServer(files: Map<string, string>, calls: ToolCallLog[]): Server {
  const server = new Server({ name: 'portcullis-demo-fs', version: '0.1.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const args = (req.params.arguments ?? {}) as Record<string, unknown>;
    calls.push({ name: req.params.name, arguments: args });
    return runTool(files, req.params.name, args);
  });
  return server;
}

export async function startDemoFsServer(port = 0, host = '127.0.0.1', enableJsonResponse = false): Promise<DemoFsServer> {
  const files = new Map(SEED);
  const calls: ToolCallLog[] = [];
  const http: HttpServer = createServer((req, res) => {
    if (!req.url?.startsWith('/mcp')) {
      res.writeHead(404).end();
      return;
    }
    // Stateless: one server and transport per request, as the SDK recommends.
    const server = mcpServer(files, calls);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  http.keepAliveTimeout = 1000;
  await new Promise<void>((r) => http.listen(port, host, r));
  const a = http.address() as AddressInfo;
  return {
    url: `http://${host}:${a.port}/mcp`,
    port: a.port,
    files,
    calls,
    close: () =>
      new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}
