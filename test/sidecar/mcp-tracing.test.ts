/**
 * MCP decision spans follow the OpenTelemetry MCP conventions (span name
 * `{mcp.method.name} {gen_ai.tool.name}`, `mcp.method.name`,
 * `mcp.protocol.version`, `mcp.session.id`, `gen_ai.operation.name` and
 * `gen_ai.tool.name` for tool calls) beside the portcullis.* attributes, and
 * a `traceparent` in `params._meta` is continued. Real clients and servers of
 * both SDK generations; the real tracing setup with an in-memory exporter.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { startSidecar, send, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { startMcpUpstream, type McpUpstream } from '../support/mcp-upstreams.ts';
import { createTracing, tracingConfigFromEnv, type Tracing } from '../../src/telemetry/tracing.ts';
import { Attr } from '../../src/telemetry/decision-span.ts';

let v1: McpUpstream;
let v2: McpUpstream;
let plain: McpUpstream;
let sidecar: RunningSidecar;
let tracing: Tracing;
const exporter = new InMemorySpanExporter();

before(async () => {
  [v1, v2, plain] = await Promise.all([startMcpUpstream('v1-sessions'), startMcpUpstream('v2'), startMcpUpstream('v1-stateless')]);
  tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '0' }), exporter });
  const engine = functionEngine(
    (i: any) => (i.action.mcp.name === 'delete_all' ? { effect: 'deny', reason: 'no' } : { effect: 'allow', reason: 'yes' }),
    undefined,
    [
      { name: 'old', kind: 'mcp', url: v1.url },
      { name: 'new', kind: 'mcp', url: v2.url },
      { name: 'plain', kind: 'mcp', url: plain.url },
    ],
  );
  sidecar = await startSidecar({ engine, tracing });
});
after(async () => {
  await sidecar?.close();
  await tracing?.shutdown();
  await Promise.all([v1?.close(), v2?.close(), plain?.close()]);
});

async function decisionSpans(): Promise<ReadableSpan[]> {
  await tracing.forceFlush();
  return exporter.getFinishedSpans().filter((s) => s.attributes[Attr.DECISION_ID] !== undefined);
}

test('a 2026-07-28 tool call is the span "tools/call echo" with the MCP and GenAI attributes; tools/list is a span of its own without a tool', async () => {
  exporter.reset();
  const client = new ClientV2({ name: 'traced', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new TransportV2(new URL(`http://127.0.0.1:${sidecar.port}/mcp/new`)));
  await client.listTools();
  await client.callTool({ name: 'echo', arguments: { text: 't' } });
  await client.close();
  const spans = await decisionSpans();
  const call = spans.find((s) => s.name === 'tools/call echo');
  assert.ok(call, spans.map((s) => s.name).join(', '));
  assert.equal(call.attributes[Attr.MCP_METHOD], 'tools/call');
  assert.equal(call.attributes[Attr.MCP_PROTOCOL_VERSION], '2026-07-28');
  assert.equal(call.attributes[Attr.OPERATION], 'execute_tool');
  assert.equal(call.attributes[Attr.TOOL_NAME], 'echo');
  assert.equal(call.attributes[Attr.MCP_SERVER], 'new');
  assert.equal(typeof call.attributes[Attr.JSONRPC_ID], 'string');
  assert.equal(call.attributes[Attr.EFFECT], 'allow');
  assert.equal(call.attributes[Attr.MCP_SESSION_ID], undefined, 'stateless');
  const list = spans.find((s) => s.name === 'tools/list');
  assert.ok(list, spans.map((s) => s.name).join(', '));
  assert.equal(list.attributes[Attr.MCP_METHOD], 'tools/list');
  assert.equal(list.attributes[Attr.OPERATION], undefined, 'listing tools executes none');
  assert.equal(list.attributes[Attr.TOOL_NAME], undefined);
});

test('a 2025-11-25 call in a session carries mcp.session.id, the one the upstream gave', async () => {
  exporter.reset();
  const client = new ClientV1({ name: 'traced-v1', version: '1.0.0' });
  await client.connect(new TransportV1(new URL(`http://127.0.0.1:${sidecar.port}/mcp/old`)));
  await client.callTool({ name: 'echo', arguments: {} });
  await client.close();
  const sid = v1.arrivals.findLast((a) => a.body.includes('"tools/call"'))!.headers['mcp-session-id'];
  const call = (await decisionSpans()).find((s) => s.name === 'tools/call echo')!;
  assert.equal(call.attributes[Attr.MCP_SESSION_ID], sid);
  assert.equal(call.attributes[Attr.MCP_PROTOCOL_VERSION], '2025-11-25');
  const init = (await decisionSpans()).find((s) => s.name === 'initialize')!;
  assert.equal(init.attributes[Attr.MCP_PROTOCOL_VERSION], '2025-11-25');
});

test('a traceparent in params._meta is continued, each message of a batch in its own trace, over the HTTP header', async () => {
  exporter.reset();
  const header = '00-11111111111111111111111111111111-1111111111111111-01';
  const a = { trace: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', span: 'aaaaaaaaaaaaaaaa' };
  const b = { trace: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', span: 'bbbbbbbbbbbbbbbb' };
  const msg = (id: number, name: string, t: { trace: string; span: string }): object => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: {}, _meta: { traceparent: `00-${t.trace}-${t.span}-01` } },
  });
  const r = await send(sidecar.port, {
    method: 'POST',
    path: '/mcp/plain',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', traceparent: header },
    body: JSON.stringify([msg(1, 'echo', a), msg(2, 'delete_all', b)]),
  });
  assert.equal(r.status, 200, r.body);
  const spans = await decisionSpans();
  const echo = spans.find((s) => s.name === 'tools/call echo')!;
  const denied = spans.find((s) => s.name === 'tools/call delete_all')!;
  assert.equal(echo.spanContext().traceId, a.trace);
  assert.equal(echo.parentSpanContext?.spanId, a.span);
  assert.equal(denied.spanContext().traceId, b.trace);
  assert.equal(denied.parentSpanContext?.spanId, b.span);
  assert.equal(denied.attributes[Attr.EFFECT], 'deny');
  // What went upstream continues the allowed message's trace.
  assert.match(String(plain.arrivals.at(-1)!.headers.traceparent), new RegExp(`^00-${a.trace}-`));
  // The denied call's JSON-RPC error names its own trace.
  const events = r.body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  const errorOf = [...events, ...(r.body.trim().startsWith('[') ? JSON.parse(r.body) : [])].find((m: any) => m.id === 2);
  assert.equal(errorOf.error.data.traceId, b.trace);
});
