/**
 * Headers and body must agree: `Mcp-Method`, `Mcp-Name` and
 * `MCP-Protocol-Version`, where present, say what the JSON-RPC body says, or
 * the request is refused and recorded; it is never decided on the body and
 * forwarded with headers a load balancer would route differently. The 1.x
 * upstream does not look at these headers itself, so whatever the gate let
 * through would show in its own request log; the 2.x upstream checks them,
 * so a rewritten call shows the gate kept header and body in step.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startSidecar, send, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { checkHeadersAgree, decodeHeaderValue, encodeHeaderValue } from '../../src/gate/mcp-headers.ts';

let v1: McpUpstream;
let v2: McpUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;

before(async () => {
  [v1, v2] = await Promise.all([startMcpUpstream('v1-stateless'), startMcpUpstream('v2')]);
  const engine = functionEngine(
    (input) => {
      const m = input.action.mcp;
      if (m.method !== 'tools/call') return { effect: 'allow', reason: 'protocol' };
      if (m.name === 'legacy_echo') return { effect: 'compute', reason: 'renamed', rewrite: { mcp: { name: 'echo' } } };
      if (m.name === 'echo') return { effect: 'allow', reason: 'harmless' };
      return { effect: 'deny', reason: `${m.name} is not allowed` };
    },
    undefined,
    [
      { name: 'old', kind: 'mcp', url: v1.url },
      { name: 'new', kind: 'mcp', url: v2.url },
    ],
  );
  recorder = memoryRecorder();
  sidecar = await startSidecar({ engine, recorder });
});
after(async () => {
  await sidecar?.close();
  await Promise.all([v1?.close(), v2?.close()]);
});

const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const toolCall = (name: string, id: number | string = 1, meta?: Record<string, unknown>): object => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: { text: 'x' }, ...(meta ? { _meta: meta } : {}) },
});

async function refused(headers: Record<string, string>, body: unknown, route = 'old'): Promise<void> {
  const upstream = route === 'old' ? v1 : v2;
  const arrived = upstream.arrivals.length;
  const ran = upstream.calls.length;
  const intents = recorder.intents.length;
  const r = await send(sidecar.port, { method: 'POST', path: `/mcp/${route}`, headers: { ...base, ...headers }, body: JSON.stringify(body) });
  assert.equal(r.status, 400, r.body);
  assert.equal(r.json().error.code, -32020);
  assert.equal(r.json().error.data.code, ErrorCodes.MCP_HEADER_MISMATCH);
  const record = recorder.intents.slice(intents).find((i) => i.errorCode === ErrorCodes.MCP_HEADER_MISMATCH);
  assert.ok(record, 'the refusal is recorded');
  assert.equal(record.enforcedEffect, 'deny');
  assert.equal(upstream.arrivals.length, arrived, 'nothing arrived upstream');
  assert.equal(upstream.calls.length, ran);
}

test('Mcp-Name naming an allowed tool over a body calling a denied one is refused, recorded as the body\'s call', async () => {
  const intents = recorder.intents.length;
  await refused({ 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, toolCall('delete_all'));
  assert.equal((recorder.intents[intents]!.input as any).action.mcp.name, 'delete_all');
});

test('Mcp-Name naming a denied tool over an allowed body is refused: a router on the header would disagree with the decision', async () => {
  await refused({ 'mcp-method': 'tools/call', 'mcp-name': 'delete_all' }, toolCall('echo'));
});

test('Mcp-Method that is not the body\'s method is refused', async () => {
  await refused({ 'mcp-method': 'tools/list' }, toolCall('echo'));
});

test('a batch is refused when the mirrored header does not fit every message', async () => {
  await refused({ 'mcp-method': 'tools/call' }, [toolCall('echo', 1), { jsonrpc: '2.0', id: 2, method: 'tools/list' }]);
});

test('Mcp-Name on a method whose body names nothing, and a malformed Base64 sentinel, are refused', async () => {
  await refused({ 'mcp-name': 'echo' }, { jsonrpc: '2.0', id: 3, method: 'tools/list' });
  await refused({ 'mcp-method': 'tools/call', 'mcp-name': '=?base64?ZWNobw?=' }, toolCall('echo'));
});

test('MCP-Protocol-Version that is not the version in params._meta is refused', async () => {
  await refused({ 'mcp-protocol-version': '2025-11-25', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, toolCall('echo', 4, { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }));
});

test('headers that agree (plain or as a Base64 sentinel) go through unchanged', async () => {
  for (const name of ['echo', '=?base64?ZWNobw==?=']) {
    const arrived = v1.arrivals.length;
    const r = await send(sidecar.port, { method: 'POST', path: '/mcp/old', headers: { ...base, 'mcp-method': 'tools/call', 'mcp-name': name }, body: JSON.stringify(toolCall('echo')) });
    assert.equal(r.status, 200, r.body);
    assert.equal(v1.arrivals.length, arrived + 1);
    assert.equal(v1.arrivals.at(-1)!.headers['mcp-name'], name);
  }
});

test('a computed rename carries Mcp-Name along: the 2.x server, which checks the pair, runs the renamed call', async () => {
  const client = new Client({ name: 'headers-test', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sidecar.port}/mcp/new`)));
  const ran = v2.calls.length;
  const r = await client.callTool({ name: 'legacy_echo', arguments: { text: 'renamed' } });
  assert.deepEqual(r.content, [{ type: 'text', text: 'echo {"text":"renamed"}' }]);
  const arrival = v2.arrivals.findLast((a) => a.body.includes('"tools/call"'))!;
  assert.equal(arrival.headers['mcp-name'], 'echo');
  assert.equal(JSON.parse(arrival.body).params.name, 'echo');
  assert.deepEqual(v2.calls.slice(ran).map((c) => c.name), ['echo']);
  await client.close();
});

test('the agreement rules, directly', () => {
  const msg = (name: string): any => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } });
  assert.doesNotThrow(() => checkHeadersAgree({}, [msg('a')]));
  assert.doesNotThrow(() => checkHeadersAgree({ method: 'tools/call', name: 'a' }, [msg('a'), msg('a')]));
  assert.throws(() => checkHeadersAgree({ name: 'a' }, [msg('a'), msg('b')]), (e: any) => e.code === ErrorCodes.MCP_HEADER_MISMATCH && e.details.index === 1);
  assert.throws(() => checkHeadersAgree({ method: 'tools/call' }, [{ jsonrpc: '2.0', id: 1, result: {} }]), (e: any) => e.code === ErrorCodes.MCP_HEADER_MISMATCH);
  assert.doesNotThrow(() => checkHeadersAgree({ name: 'file:///a' }, [{ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///a' } }]));
  assert.equal(decodeHeaderValue(encodeHeaderValue('naïve tool')), 'naïve tool');
  assert.equal(encodeHeaderValue('echo'), 'echo');
  assert.equal(decodeHeaderValue('=?base64?not base64?='), '=?base64?not base64?=');
  assert.equal(decodeHeaderValue('=?base64?/w==?='), undefined, 'not UTF-8');
});
