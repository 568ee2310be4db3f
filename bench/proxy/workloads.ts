/** What the proxy benchmark sends: a small JSON GET, a 16 KiB JSON POST, an MCP tools/call. */
import type { FixedRateRequest } from './fixed-rate.ts';

export interface Workload {
  name: string;
  request: FixedRateRequest;
  path(gate: boolean): string;
  /** Whether the body that came back is the one the upstream sends for this request (it got there whole). */
  delivered(body: string): boolean;
}

const POST_BYTES = 16 * 1024;

function postBody(): Buffer {
  const head = '{"service":"api","version":"1.4.3","manifest":"';
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(POST_BYTES - head.length - tail.length) + tail);
}

export function workloads(): Workload[] {
  const json = { 'content-type': 'application/json' };
  const mcpCall = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_file', arguments: { path: '/data/report.txt' } } };
  return [
    {
      name: 'get',
      request: { method: 'GET' },
      path: (gate) => (gate ? '/tools/deploy/v1/deployments' : '/v1/deployments'),
      delivered: (body) => body.includes('"dep_1"'),
    },
    {
      name: 'post16k',
      request: { method: 'POST', body: postBody(), headers: json },
      path: (gate) => (gate ? '/tools/deploy/v1/dry-run/deployments' : '/v1/dry-run/deployments'),
      delivered: (body) => (JSON.parse(body) as { bytes?: number }).bytes === POST_BYTES,
    },
    {
      name: 'mcp',
      request: { method: 'POST', body: Buffer.from(JSON.stringify(mcpCall)), headers: { ...json, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' } },
      path: (gate) => (gate ? '/mcp/fs' : '/mcp'),
      delivered: (body) => (JSON.parse(body) as { result?: { content?: { text?: string }[] } }).result?.content?.[0]?.text === 'contents of /data/report.txt',
    },
  ];
}
