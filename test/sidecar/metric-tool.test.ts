/**
 * The `tool` label of the metrics stays bounded: forward-proxy calls are
 * counted under the catalog tool they reach, or `external`, while logs keep
 * the host the agent called.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { createMetrics, type PortcullisMetrics } from '../../src/telemetry/metrics.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { EXTERNAL_TOOL, metricToolFor } from '../../src/sidecar/metric-tool.ts';
import type { ToolEntry } from '../../src/policy/types.ts';

test('metricToolFor: the catalog tool by scheme, host, port and base path, else external', () => {
  const tools: ToolEntry[] = [
    { name: 'payments', kind: 'http', url: 'http://Payments.tools.svc:8080/api' },
    { name: 'refunds', kind: 'http', url: 'http://payments.tools.svc:8080/api/refunds/' },
    { name: 'search', kind: 'http', url: 'https://search.example.com' },
    { name: 'v6', kind: 'http', url: 'http://[::1]:9000/' },
  ];
  const at = (scheme: 'http' | 'https', host: string, port: number, path?: string): string => metricToolFor({ scheme, host, port, ...(path !== undefined ? { path } : {}) }, tools);
  assert.equal(at('http', 'payments.tools.svc', 8080, '/api/charge'), 'payments');
  assert.equal(at('http', 'payments.tools.svc', 8080, '/api'), 'payments');
  assert.equal(at('http', 'payments.tools.svc', 8080, '/api/refunds/7'), 'refunds');
  assert.equal(at('http', 'payments.tools.svc', 8080, '/apix'), EXTERNAL_TOOL);
  assert.equal(at('http', 'payments.tools.svc', 8081, '/api/charge'), EXTERNAL_TOOL);
  assert.equal(at('https', 'payments.tools.svc', 8080, '/api/charge'), EXTERNAL_TOOL);
  assert.equal(at('https', 'search.example.com', 443, '/q'), 'search');
  assert.equal(at('https', 'search.example.com', 443), 'search');
  assert.equal(at('http', '::1', 9000, '/'), 'v6');
  assert.equal(at('http', 'evil-1234.example.net', 80, '/'), EXTERNAL_TOOL);
  assert.equal(metricToolFor({ scheme: 'http', host: 'x', port: 80, path: '/' }, undefined), EXTERNAL_TOOL);
});

let catalogUpstream: LoggingUpstream;
let otherUpstream: LoggingUpstream;
let sidecar: RunningSidecar;
let metrics: PortcullisMetrics;
const lines: Array<Record<string, unknown>> = [];

before(async () => {
  catalogUpstream = await startUpstream();
  otherUpstream = await startUpstream();
  metrics = createMetrics({ processMetrics: false });
  const logger = createLogger({
    destination: new Writable({
      write(c, _e, cb) {
        lines.push(JSON.parse(String(c)));
        cb();
      },
    }),
  });
  const tools: ToolEntry[] = [{ name: 'payments', kind: 'http', url: `${catalogUpstream.origin}/api` }];
  sidecar = await startSidecar({ engine: functionEngine(() => ({ effect: 'allow', reason: 'ok' }), undefined, tools), metrics, logger });
});
after(async () => {
  await sidecar.close();
  await catalogUpstream.close();
  await otherUpstream.close();
});

async function decisionsByTool(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.decisions.get()).values) out[String(v.labels.tool)] = (out[String(v.labels.tool)] ?? 0) + v.value;
  return out;
}

test('forward-proxy calls are counted under the catalog name or external; logs keep the host', async () => {
  assert.equal((await send(sidecar.port, { path: `${catalogUpstream.origin}/api/charge` })).status, 200);
  assert.equal((await send(sidecar.port, { path: '/tools/payments/refund' })).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await send(sidecar.port, { path: `${otherUpstream.origin}/anything/${i}` })).status, 200);
  assert.equal((await send(sidecar.port, { path: `${catalogUpstream.origin}/not-the-api` })).status, 200);

  assert.deepEqual(await decisionsByTool(), { payments: 2, [EXTERNAL_TOOL]: 4 });
  const upstreamTools = new Set((await metrics.upstreamSeconds.get()).values.map((v) => String(v.labels.tool)));
  assert.deepEqual([...upstreamTools].sort(), [EXTERNAL_TOOL, 'payments']);
  // The host stays in the decision log lines (and the policy input): only the metric label is bounded.
  const decisions = lines.filter((l) => l.event === 'decision');
  assert.equal(decisions.length, 6);
  assert.equal(decisions.filter((l) => l.tool === '127.0.0.1').length, 5);
  assert.equal(decisions.filter((l) => l.tool === 'payments').length, 1);
});

test('refused MCP calls and made-up routes add no label per name: labels stay bounded whatever the agent sends', async () => {
  const upstream = await startUpstream();
  const m = createMetrics({ processMetrics: false });
  const tools: ToolEntry[] = [{ name: 'ops', kind: 'mcp', url: `${upstream.origin}/mcp` }, { name: 'payments', kind: 'http', url: `${upstream.origin}/api` }];
  const deny = functionEngine((input) => (input.action.mcp?.method === 'tools/call' ? { effect: 'deny', reason: 'no' } : { effect: 'allow', reason: 'ok' }), undefined, tools);
  const s = await startSidecar({ engine: deny, metrics: m });
  try {
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: `made-up-${i}-${'x'.repeat(64)}`, arguments: {} } });
      const r = await send(s.port, { method: 'POST', path: '/mcp/ops', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body });
      assert.equal(r.status, 200);
      assert.equal(r.json().error.data.code, 'PORTCULLIS_DENIED');
    }
    // A call refused before any decision (an MCP message that is no JSON-RPC) is counted the same way.
    const bad = await send(s.port, { method: 'POST', path: '/mcp/ops', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}' });
    assert.equal(bad.status, 400);
    assert.equal(upstream.log.length, 0);
    const labels = new Set((await m.decisions.get()).values.map((v) => String(v.labels.tool)));
    assert.deepEqual([...labels], ['ops']);
    assert.ok(!(await m.registry.metrics()).includes('made-up'), 'no tool name chosen by the agent reaches /metrics');
  } finally {
    await s.close();
    await upstream.close();
  }
});
