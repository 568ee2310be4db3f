/**
 * The evidence of real calls through the real sidecar: the decision span and
 * its children arrive at an OTLP/HTTP receiver on loopback with the agent's
 * trace continued, the upstream sees the same trace, the ledger entries carry
 * the same hashes as the span and verify, and secret headers appear nowhere:
 * not in logs, spans or the ledger.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import type { CompiledBundle } from '../../src/policy/types.ts';
import { buildSidecar } from '../../src/sidecar/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLedgerRecorder, type LedgerRecorder } from '../../src/evidence/ledger-recorder.ts';
import { parseEntry } from '../../src/evidence/ledger-entry.ts';
import { verifyLedger } from '../../src/evidence/verify.ts';
import { createTracing, tracingConfigFromEnv, type Tracing } from '../../src/telemetry/tracing.ts';
import { createMetrics, type PortcullisMetrics } from '../../src/telemetry/metrics.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { Attr } from '../../src/telemetry/decision-span.ts';
import { startDemoFsServer, type DemoFsServer } from '../../src/demo/fs-mcp-server.ts';
import { startDeployApi, startPaymentsApi, type DemoApi } from '../../src/demo/http-apis.ts';
import { replayLedger } from '../../src/evidence/replay.ts';
import { OtlpReceiver, type ReceivedSpan } from '../telemetry/support/otlp-receiver.ts';
import { shippedBundle, withTools } from './shipped-bundle.ts';

const AGENT_TRACE = '5bd66ef5095369c7b0d1f8f4bd33716a';
const AGENT_SPAN = 'c532cb4098ac3dd2';
const SECRETS = ['Bearer sk-live-e2e-secret-1', 'api-key-e2e-secret-2', 'session=e2e-secret-3'];

let dir: string;
let fs: DemoFsServer;
let payments: DemoApi;
let deploy: DemoApi;
let engine: OpaWasmEngine;
let bundle: CompiledBundle;
let receiver: OtlpReceiver;
let tracing: Tracing;
let metrics: PortcullisMetrics;
let recorder: LedgerRecorder;
let app: FastifyInstance;
let base: string;
let logs = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-e2e-evidence-'));
  [fs, payments, deploy] = await Promise.all([startDemoFsServer(), startPaymentsApi(), startDeployApi()]);
  bundle = withTools(await shippedBundle(), { fs: fs.url, payments: payments.url, deploy: deploy.url });
  engine = new OpaWasmEngine();
  await engine.load(bundle);
  receiver = new OtlpReceiver();
  const endpoint = await receiver.start();
  tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'portcullis-e2e', OTEL_BSP_SCHEDULE_DELAY: '50' }) });
  metrics = createMetrics({ processMetrics: false });
  const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c: Buffer, _e, cb) => ((logs += c.toString()), cb()) }) });
  recorder = await createLedgerRecorder({ path: join(dir, 'ledger.jsonl'), metrics, logger });
  const config = loadConfig({ PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '200', PORTCULLIS_BUNDLE: 'policies' }, { port: '0' });
  app = buildSidecar(config, { engine, recorder, tracing, metrics, logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app?.close();
  await tracing?.shutdown();
  await recorder?.close();
  await receiver?.close();
  await Promise.all([fs?.close(), payments?.close(), deploy?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function agentHeaders(spanId = AGENT_SPAN): Record<string, string> {
  return {
    traceparent: `00-${AGENT_TRACE}-${spanId}-01`,
    authorization: SECRETS[0]!,
    'x-api-key': SECRETS[1]!,
    cookie: SECRETS[2]!,
  };
}

async function ledgerEntries(): Promise<Array<{ kind: string; record: Record<string, any> }>> {
  // An outcome may still wait to share the next fsync (up to 20 ms): idle() writes it now.
  await recorder.idle();
  const text = await readFile(join(dir, 'ledger.jsonl'), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => {
    const p = parseEntry(l);
    assert.ok(p.ok);
    return { kind: p.entry.kind, record: p.entry.record as Record<string, any> };
  });
}

function children(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);
}

test('an allowed HTTP call: decision span with children, trace continued upstream, hashes joined to the ledger', async () => {
  const res = await fetch(`${base}/tools/payments/v1/charges`, { headers: agentHeaders() });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const arrival = payments.log.at(-1)!;
  const upstreamParent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(arrival.headers.traceparent));
  assert.ok(upstreamParent, `upstream traceparent: ${String(arrival.headers.traceparent)}`);
  assert.equal(upstreamParent[1], AGENT_TRACE, 'the upstream continues the agent trace');

  await tracing.forceFlush();
  const spans = await receiver.waitFor((s) => s.some((x) => x.name === 'execute_tool payments' && x.parentSpanId === AGENT_SPAN));
  const decision = spans.find((x) => x.name === 'execute_tool payments' && x.parentSpanId === AGENT_SPAN)!;
  assert.equal(decision.traceId, AGENT_TRACE);
  assert.equal(decision.resource['service.name'], 'portcullis-e2e');
  const a = decision.attributes;
  assert.equal(a[Attr.OPERATION], 'execute_tool');
  assert.equal(a[Attr.TOOL_NAME], 'payments');
  assert.equal(a[Attr.EFFECT], 'allow');
  assert.equal(a[Attr.MODE], 'enforce');
  assert.equal(a[Attr.BUNDLE], 'policies');
  assert.equal(a[Attr.POLICY_DIGEST], bundle.digest);
  assert.match(String(a[Attr.INPUT_HASH]), /^sha256:[0-9a-f]{64}$/);
  assert.match(String(a[Attr.OUTPUT_HASH]), /^sha256:[0-9a-f]{64}$/);

  const kids = children(spans, decision);
  const evaluation = kids.find((k) => k.name === 'portcullis.policy.evaluate');
  const client = kids.find((k) => k.kind === 3);
  assert.ok(evaluation, `children: ${kids.map((k) => k.name).join(', ')}`);
  assert.ok(client, `children: ${kids.map((k) => k.name).join(', ')}`);
  assert.equal(upstreamParent[2], client.spanId, 'the upstream request is a child of the client span');

  const entries = await ledgerEntries();
  const intent = entries.find((e) => e.kind === 'intent' && e.record.traceId === AGENT_TRACE && e.record.input.action.tool === 'payments')!;
  assert.ok(intent, 'the intent is in the ledger');
  assert.equal(intent.record.inputHash, a[Attr.INPUT_HASH]);
  assert.equal(intent.record.policyDigest, bundle.digest);
  const outcome = entries.find((e) => e.kind === 'outcome' && e.record.decisionId === intent.record.decisionId);
  assert.ok(outcome, 'the outcome is in the ledger');
  assert.equal(outcome.record.outputHash, a[Attr.OUTPUT_HASH]);
  assert.equal(a[Attr.LEDGER_SEQ] !== undefined, true);
});

test('a denied MCP call: the span says deny, the upstream never sees it, the JSON-RPC id is the tool call id', async () => {
  const spanId = 'd532cb4098ac3dd3';
  const before = fs.calls.length;
  const res = await fetch(`${base}/mcp/fs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...agentHeaders(spanId) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 41, method: 'tools/call', params: { name: 'write_file', arguments: { path: '/prod/config.yaml', content: 'x' } } }),
  });
  const body = await res.text();
  assert.match(body, /PORTCULLIS_DENIED/);
  assert.equal(fs.calls.length, before);
  await tracing.forceFlush();
  const spans = await receiver.waitFor((s) => s.some((x) => x.parentSpanId === spanId));
  const decision = spans.find((x) => x.parentSpanId === spanId)!;
  assert.equal(decision.name, 'tools/call write_file');
  assert.equal(decision.traceId, AGENT_TRACE);
  assert.equal(decision.attributes[Attr.EFFECT], 'deny');
  assert.equal(decision.attributes[Attr.TOOL_CALL_ID], '41');
  assert.equal(decision.attributes[Attr.MCP_METHOD], 'tools/call');
  assert.ok(!children(spans, decision).some((k) => k.kind === 3), 'no upstream span for a denied call');
});

test('a computed call records both actions, and replay with the recorded policy reproduces every decision bit for bit', async () => {
  const res = await fetch(`${base}/tools/deploy/v1/deployments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...agentHeaders('e532cb4098ac3dd4') },
    body: JSON.stringify({ service: 'api', version: '1.5.0' }),
  });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const entries = await ledgerEntries();
  const computed = entries.find((e) => e.kind === 'intent' && e.record.effect === 'compute');
  assert.ok(computed?.record.rewritten, 'the rewritten action and its decision are recorded');
  assert.equal(computed.record.rewritten.decision.effect, 'allow');
  const report = await replayLedger([join(dir, 'ledger.jsonl')], { bundle: { digest: bundle.digest, engine, label: 'shipped' } });
  assert.ok(report.intents >= 3);
  assert.equal(report.counts.mismatch, 0, JSON.stringify(report.rows));
  assert.equal(report.counts.error, 0, JSON.stringify(report.rows));
  // The denied call is the policy's decision too: nothing here failed closed.
  assert.equal(report.counts.skipped, 0);
  assert.equal(report.counts.reproduced, report.intents);
  assert.equal(report.ok, true);
});

test('the ledger verifies, the metrics count the decisions, and no secret header appears in logs, spans or the ledger', async () => {
  await recorder.close();
  const report = await verifyLedger([join(dir, 'ledger.jsonl')]);
  assert.equal(report.ok, true, JSON.stringify(report.findings));
  assert.ok(report.entries >= 3);
  const text = await metrics.registry.metrics();
  assert.match(text, /portcullis_decisions_total\{effect="allow",tool="payments",mode="enforce",bundle="policies"\} 1/);
  assert.match(text, /portcullis_ledger_appends_total\{kind="intent"\} [1-9]/);

  const ledgerText = await readFile(join(dir, 'ledger.jsonl'), 'utf8');
  const spanText = JSON.stringify(receiver.spans);
  assert.ok(logs.includes('"event":"decision"'), 'decisions were logged');
  assert.ok(logs.includes(AGENT_TRACE), 'log lines carry the trace ID');
  for (const secret of SECRETS) {
    const core = secret.split(/[ =]/).at(-1)!;
    assert.ok(!ledgerText.includes(core), `the ledger holds ${secret}`);
    assert.ok(!spanText.includes(core), `a span holds ${secret}`);
    assert.ok(!logs.includes(core), `the log holds ${secret}`);
  }
  // The redacted headers are recorded as hashes, so policies and auditors can still match them.
  assert.match(ledgerText, /"authorization":"sha256:[0-9a-f]{64}"/);
});
