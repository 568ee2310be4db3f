/**
 * The MCP route reaches the catalog endpoint only: sub-paths and queries of
 * `/mcp/<server>` are refused (and recorded) unless the catalog entry opens
 * them, and then the policy sees them. A real MCP server (SDK 1.x) keeps its
 * own record of every HTTP request that reached it, on any path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startSidecar, send, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { parseManifest } from '../../src/policy/bundle-manifest.ts';

let upstream: McpUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
const seen: any[] = [];

before(async () => {
  upstream = await startMcpUpstream('v1-stateless');
  const engine = functionEngine(
    (input) => {
      seen.push(input);
      return { effect: 'allow', reason: 'every call, to show what the route alone refuses' };
    },
    undefined,
    [
      { name: 'strict', kind: 'mcp', url: upstream.url },
      { name: 'open', kind: 'mcp', url: upstream.url, allowSubPaths: true, allowQuery: true },
    ],
  );
  recorder = memoryRecorder();
  sidecar = await startSidecar({ engine, recorder });
});
after(async () => {
  await sidecar?.close();
  await upstream?.close();
});

const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } };
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

test('an SDK client works through the catalog endpoint', async () => {
  const client = new Client({ name: 'route-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sidecar.port}/mcp/strict`)));
  const listed = await client.listTools();
  assert.deepEqual(listed.tools.map((t) => t.name), ['echo', 'delete_all']);
  const r = await client.callTool({ name: 'echo', arguments: { text: 'through' } });
  assert.deepEqual(r.content, [{ type: 'text', text: 'echo {"text":"through"}' }]);
  await client.close();
  assert.ok(upstream.arrivals.every((a) => a.url === '/mcp'), 'every request the client made reached the endpoint itself');
});

for (const [method, path] of [
  ['POST', '/mcp/strict/admin'],
  ['POST', '/mcp/strict?debug=1'],
  ['GET', '/mcp/strict/metrics'],
  ['DELETE', '/mcp/strict/data?all=true'],
  ['POST', '/mcp/strict/'.concat('%2e%2e/%2e%2e/admin')],
  ['PUT', '/mcp/strict/x'],
] as const) {
  test(`${method} ${path} is refused with ${ErrorCodes.MCP_ROUTE_REFUSED}, recorded, and never arrives`, async () => {
    const before = upstream.arrivals.length;
    const intents = recorder.intents.length;
    const r = await send(sidecar.port, { method, path, headers, ...(method === 'POST' || method === 'PUT' ? { body: JSON.stringify(call) } : {}) });
    assert.equal(r.status, 404);
    assert.equal(r.json().error.data.code, ErrorCodes.MCP_ROUTE_REFUSED);
    assert.match(r.json().error.message, /allowSubPaths|allowQuery/);
    const record = recorder.intents.slice(intents).find((i) => i.errorCode === ErrorCodes.MCP_ROUTE_REFUSED);
    assert.ok(record, 'the refusal is a recorded decision');
    assert.equal(record.enforcedEffect, 'deny');
    // The upstream's own log: nothing arrived, on any path.
    assert.equal(upstream.arrivals.length, before);
  });
}

test('a catalog entry that opens sub-paths and queries passes them on, and the policy sees them', async () => {
  const before = upstream.arrivals.length;
  seen.length = 0;
  await send(sidecar.port, { method: 'POST', path: '/mcp/open/tenants/a?region=eu&region=us', headers, body: JSON.stringify(call) });
  assert.equal(upstream.arrivals.length, before + 1);
  assert.equal(upstream.arrivals.at(-1)!.url, '/mcp/tenants/a?region=eu&region=us');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].action.mcp.path, '/tenants/a');
  assert.deepEqual(seen[0].action.mcp.query, { region: ['eu', 'us'] });
  assert.equal(seen[0].action.mcp.name, 'echo');
});

test('the endpoint alone carries no path or query in the policy input', async () => {
  seen.length = 0;
  await send(sidecar.port, { method: 'POST', path: '/mcp/open', headers, body: JSON.stringify(call) });
  assert.equal(seen.length, 1);
  assert.equal('path' in seen[0].action.mcp, false);
  assert.equal('query' in seen[0].action.mcp, false);
});

test('allowSubPaths / allowQuery are for MCP servers only, and must be booleans', () => {
  assert.throws(() => parseManifest('portcullis.yaml', { tools: [{ name: 'h', kind: 'http', url: 'http://h', allowSubPaths: true }] }), (e: any) => e.code === ErrorCodes.BUNDLE_INVALID && /MCP servers/.test(e.message));
  assert.throws(() => parseManifest('portcullis.yaml', { tools: [{ name: 'm', kind: 'mcp', url: 'http://m', allowQuery: 'yes' }] }), (e: any) => e.code === ErrorCodes.BUNDLE_INVALID);
  assert.deepEqual(parseManifest('portcullis.yaml', { tools: [{ name: 'm', kind: 'mcp', url: 'http://m', allowSubPaths: true }] }).tools[0], { name: 'm', kind: 'mcp', url: 'http://m', allowSubPaths: true });
});

test('a request from a web page of another origin (DNS rebinding) is refused, recorded, and never arrives; local pages and agents without Origin pass', async () => {
  for (const origin of ['http://evil.example.com', 'null', 'https://127.0.0.1.evil.example.com']) {
    const before = upstream.arrivals.length;
    const intents = recorder.intents.length;
    const r = await send(sidecar.port, { method: 'POST', path: '/mcp/strict', headers: { ...headers, origin, host: 'evil.example.com' }, body: JSON.stringify(call) });
    assert.equal(r.status, 403, origin);
    assert.equal(r.json().error.data.code, ErrorCodes.MCP_ORIGIN_REFUSED);
    assert.ok(recorder.intents.slice(intents).some((i) => i.errorCode === ErrorCodes.MCP_ORIGIN_REFUSED), 'recorded');
    assert.equal(upstream.arrivals.length, before, 'nothing arrived');
  }
  for (const origin of ['http://localhost:5173', 'http://127.0.0.1:7070', 'http://[::1]:8080']) {
    const before = upstream.arrivals.length;
    const r = await send(sidecar.port, { method: 'POST', path: '/mcp/strict', headers: { ...headers, origin }, body: JSON.stringify(call) });
    assert.equal(r.status, 200, origin);
    assert.equal(upstream.arrivals.length, before + 1);
  }
});
