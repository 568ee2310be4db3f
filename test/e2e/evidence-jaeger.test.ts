/**
 * The evidence as a person reads it in Jaeger: real calls through the real
 * sidecar, exported over OTLP/HTTP to the real Jaeger, then found through the
 * API the Jaeger UI uses (search by service and tag, open a trace by ID).
 * Each decision span must carry what the ledger recorded for the same call,
 * continue the agent's trace, hold its children, and no secret header may
 * appear anywhere Jaeger answers. `portcullis dev`, the command a person runs,
 * is pointed at the same Jaeger with nothing but OTEL_EXPORTER_OTLP_ENDPOINT.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
import { createTracing, tracingConfigFromEnv, type Tracing } from '../../src/telemetry/tracing.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { Attr } from '../../src/telemetry/decision-span.ts';
import { startDemoFsServer, type DemoFsServer } from '../../src/demo/fs-mcp-server.ts';
import { startDeployApi, startPaymentsApi, type DemoApi } from '../../src/demo/http-apis.ts';
import { parentOf, startJaeger, tagsOf, type Jaeger, type JaegerSpan, type JaegerTrace } from '../support/jaeger.ts';
import { shippedBundle, withTools } from './shipped-bundle.ts';

const SERVICE = 'portcullis-e2e-jaeger';
const AGENT_TRACE = '7c0f6e2b95a14d3e8a1b2c3d4e5f6a7b';
const AGENT_SPAN = '1a2b3c4d5e6f7a8b';
const SECRETS = ['Bearer sk-live-jaeger-secret-1', 'api-key-jaeger-secret-2', 'session=jaeger-secret-3'];
const ROOT = join(import.meta.dirname, '..', '..');

interface Entry {
  seq: number;
  hash: string;
  kind: string;
  record: Record<string, any>;
}

let dir: string;
let fs: DemoFsServer;
let payments: DemoApi;
let deploy: DemoApi;
let bundle: CompiledBundle;
let jaeger: Jaeger;
let tracing: Tracing;
let recorder: LedgerRecorder;
let app: FastifyInstance;
let base: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-e2e-jaeger-'));
  [fs, payments, deploy, jaeger] = await Promise.all([startDemoFsServer(), startPaymentsApi(), startDeployApi(), startJaeger()]);
  bundle = withTools(await shippedBundle(), { fs: fs.url, payments: payments.url, deploy: deploy.url });
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  tracing = await createTracing({
    config: tracingConfigFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl,
      OTEL_SERVICE_NAME: SERVICE,
      OTEL_RESOURCE_ATTRIBUTES: 'k8s.namespace.name=agents,k8s.pod.name=agent-0',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    }),
    serviceVersion: '0.1.0-e2e',
  });
  const metrics = createMetrics({ processMetrics: false });
  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
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
  await jaeger?.close();
  await Promise.all([fs?.close(), payments?.close(), deploy?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function secretHeaders(): Record<string, string> {
  return { authorization: SECRETS[0]!, 'x-api-key': SECRETS[1]!, cookie: SECRETS[2]! };
}

function agentHeaders(spanId: string): Record<string, string> {
  return { traceparent: `00-${AGENT_TRACE}-${spanId}-01`, ...secretHeaders() };
}

async function mcpCall(id: number, name: string, args: Record<string, unknown>, spanId: string): Promise<any> {
  const res = await fetch(`${base}/mcp/fs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...agentHeaders(spanId) },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  });
  const text = await res.text();
  // The demo server answers in SSE; the gate answers a denial as plain JSON.
  const data = text.split('\n').find((l) => l.startsWith('data: '));
  return JSON.parse(data ? data.slice('data: '.length) : text);
}

async function ledger(): Promise<Entry[]> {
  const text = await readFile(join(dir, 'ledger.jsonl'), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => {
    const p = parseEntry(l);
    assert.ok(p.ok, l);
    return { seq: p.entry.seq, hash: p.entry.hash, kind: p.entry.kind, record: p.entry.record as Record<string, any> };
  });
}

/** The intent and outcome entries of one decision; the outcome is appended as the response ends, so it is waited for. */
async function entriesOf(decisionId: string): Promise<{ intent: Entry; outcome: Entry }> {
  const end = Date.now() + 10_000;
  for (;;) {
    const all = await ledger();
    const intent = all.find((e) => e.kind === 'intent' && e.record.decisionId === decisionId);
    const outcome = all.find((e) => e.kind === 'outcome' && e.record.decisionId === decisionId);
    if (intent && outcome) return { intent, outcome };
    assert.ok(Date.now() < end, `ledger entries of ${decisionId}: intent ${Boolean(intent)}, outcome ${Boolean(outcome)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tag = (span: JaegerSpan, key: string): unknown => tagsOf(span.tags)[key]?.value;
const spanNamed = (t: JaegerTrace, name: string, parent?: string): JaegerSpan | undefined =>
  t.spans.find((s) => s.operationName === name && (parent === undefined || parentOf(s) === parent));
const childrenOf = (t: JaegerTrace, span: JaegerSpan): JaegerSpan[] => t.spans.filter((s) => parentOf(s) === span.spanID);
/** A decision span, whatever its name: it carries the decision ID. */
const isDecision = (s: JaegerSpan): boolean => tag(s, Attr.DECISION_ID) !== undefined;

/**
 * Every Portcullis attribute of a decision span as Jaeger shows it, against
 * the ledger's entries for the same call: values and the types Jaeger gives them.
 */
function assertMatchesLedger(span: JaegerSpan, intent: Entry, outcome: Entry): void {
  const r = intent.record;
  const expected: Record<string, [string, string | number]> = {
    [Attr.OPERATION]: ['string', 'execute_tool'],
    [Attr.TOOL_NAME]: ['string', r.input.action.tool],
    [Attr.ACTION_TYPE]: ['string', r.input.action.type],
    [Attr.EFFECT]: ['string', r.effect],
    [Attr.ENFORCED_EFFECT]: ['string', r.enforcedEffect],
    [Attr.REASON]: ['string', r.reason],
    [Attr.POLICY_DIGEST]: ['string', r.policyDigest],
    [Attr.BUNDLE]: ['string', r.bundle],
    [Attr.ENTRYPOINT]: ['string', r.entrypoint],
    [Attr.MODE]: ['string', r.mode],
    [Attr.INPUT_HASH]: ['string', r.inputHash],
    [Attr.DECISION_ID]: ['string', r.decisionId],
    [Attr.LEDGER_SEQ]: ['int64', intent.seq],
    [Attr.LEDGER_HASH]: ['string', intent.hash],
    [Attr.OUTPUT_BYTES]: ['int64', outcome.record.bytes],
  };
  if (outcome.record.outputHash) expected[Attr.OUTPUT_HASH] = ['string', outcome.record.outputHash];
  if (r.input.action.mcp) {
    expected[Attr.MCP_METHOD] = ['string', r.input.action.mcp.method];
    expected[Attr.TOOL_CALL_ID] = ['string', String(r.input.action.mcp.id)];
    expected[Attr.JSONRPC_ID] = ['string', String(r.input.action.mcp.id)];
  }
  const tags = tagsOf(span.tags);
  for (const [key, [type, value]] of Object.entries(expected)) {
    assert.deepEqual(tags[key] && { type: tags[key].type, value: tags[key].value }, { type, value }, `${span.operationName}: ${key}`);
  }
  assert.equal(span.traceID, r.traceId, 'the span is in the trace the ledger names');
  // MCP tool calls are named as the MCP conventions have it, other calls as GenAI tool execution.
  assert.equal(span.operationName, `${r.input.action.mcp ? 'tools/call' : 'execute_tool'} ${r.input.action.tool}`);
}

test('Jaeger listens on the ports this test chose and on no other', () => {
  assert.deepEqual(jaeger.listeningPorts(), Object.values(jaeger.ports).sort((a, b) => a - b));
});

test('an allowed HTTP call from an agent trace: found by service and tag, the agent trace continued, attributes equal to the ledger', async () => {
  const res = await fetch(`${base}/tools/payments/v1/charges`, { headers: agentHeaders(AGENT_SPAN) });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const upstream = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(payments.log.at(-1)!.headers.traceparent));
  assert.ok(upstream, 'the upstream received a traceparent');

  // What a person does in the UI: service, tag, Find Traces.
  const found = await jaeger.waitForSearch({ service: SERVICE, tags: { [Attr.EFFECT]: 'allow', [Attr.TOOL_NAME]: 'payments' } }, (ts) =>
    ts.some((t) => t.spans.length >= 3 && t.spans.some((s) => s.operationName === 'GET')),
  );
  assert.deepEqual(found.map((t) => t.traceID), [AGENT_TRACE], 'the search finds the agent trace, and only it');
  const trace = found[0]!;
  const decision = spanNamed(trace, 'execute_tool payments', AGENT_SPAN);
  assert.ok(decision, `spans: ${trace.spans.map((s) => `${s.operationName} ← ${parentOf(s)}`).join(', ')}`);
  assert.deepEqual(decision.references, [{ refType: 'CHILD_OF', traceID: AGENT_TRACE, spanID: AGENT_SPAN }]);
  const proc = trace.processes[decision.processID]!;
  assert.equal(proc.serviceName, SERVICE);
  const resource = tagsOf(proc.tags);
  assert.equal(resource['service.version']?.value, '0.1.0-e2e');
  assert.equal(resource['k8s.namespace.name']?.value, 'agents');
  assert.equal(resource['k8s.pod.name']?.value, 'agent-0');
  assert.equal(resource['telemetry.sdk.language']?.value, 'nodejs', 'the SDK resource attributes are exported');
  assert.equal(tag(decision, 'span.kind'), 'internal');
  assert.equal(tag(decision, 'otel.scope.name'), 'portcullis');
  assert.equal(tag(decision, 'error'), undefined, 'an allowed call is not marked as an error');
  assert.equal(tag(decision, 'http.response.status_code'), 200);

  const kids = childrenOf(trace, decision);
  assert.deepEqual(kids.map((k) => k.operationName).sort(), ['GET', 'portcullis.policy.evaluate']);
  const client = kids.find((k) => k.operationName === 'GET')!;
  assert.equal(tag(client, 'span.kind'), 'client');
  assert.equal(tag(client, 'url.full'), `${payments.url.replace(/\/$/, '')}/v1/charges`);
  assert.equal(tagsOf(client.tags)['server.port']?.type, 'int64');
  assert.equal(tag(client, 'http.response.status_code'), 200);
  assert.equal(upstream[1], AGENT_TRACE, 'the upstream continues the agent trace');
  assert.equal(upstream[2], client.spanID, 'the upstream request is a child of the client span Jaeger shows');
  const evaluation = kids.find((k) => k.operationName === 'portcullis.policy.evaluate')!;
  assert.equal(tag(evaluation, Attr.ENTRYPOINT), 'portcullis/decision');
  for (const k of kids) assert.ok(k.startTime >= decision.startTime && k.startTime + k.duration <= decision.startTime + decision.duration + 1, `${k.operationName} lies within the decision span`);

  const { intent, outcome } = await entriesOf(String(tag(decision, Attr.DECISION_ID)));
  assertMatchesLedger(decision, intent, outcome);
  assert.equal(intent.record.policyDigest, bundle.digest);
});

test('a denied call: the trace ID of the 403 opens the trace in Jaeger, whose span names the ledger entry', async () => {
  const res = await fetch(`${base}/tools/deploy/v1/deployments/api`, { method: 'DELETE', headers: secretHeaders() });
  assert.equal(res.status, 403);
  const { error } = (await res.json()) as { error: { code: string; traceId: string; decisionId: string } };
  assert.equal(error.code, 'PORTCULLIS_DENIED');
  assert.notEqual(error.traceId, AGENT_TRACE, 'a call without traceparent starts its own trace');

  const trace = await jaeger.waitForTrace(error.traceId, (t) => t.spans.length >= 2);
  const decision = spanNamed(trace, 'execute_tool deploy')!;
  assert.ok(decision, `spans: ${trace.spans.map((s) => s.operationName).join(', ')}`);
  assert.equal(decision.references?.length ?? 0, 0, 'the decision is the root of its trace');
  assert.equal(tag(decision, Attr.DECISION_ID), error.decisionId);
  assert.equal(tag(decision, Attr.EFFECT), 'deny');
  assert.equal(tag(decision, Attr.ERROR_TYPE), 'PORTCULLIS_DENIED');
  assert.equal(tag(decision, 'otel.status_code'), 'ERROR');
  assert.equal(tag(decision, 'error'), true, 'Jaeger marks the denial as an error span');
  assert.equal(tag(decision, 'http.response.status_code'), undefined, 'no upstream answered, so no status is claimed');
  assert.deepEqual(childrenOf(trace, decision).map((k) => k.operationName), ['portcullis.policy.evaluate'], 'no upstream span for a denied call');
  assert.equal(deploy.log.filter((a) => a.method === 'DELETE').length, 0, 'the upstream never saw it');

  // The seq and hash on the span find the entry in the ledger, and the entry holds the decision.
  const { intent, outcome } = await entriesOf(error.decisionId);
  assert.equal(tag(decision, Attr.LEDGER_SEQ), intent.seq);
  assertMatchesLedger(decision, intent, outcome);

  const denials = await jaeger.search({ service: SERVICE, tags: { [Attr.EFFECT]: 'deny' } });
  assert.ok(denials.some((t) => t.traceID === error.traceId), 'the documented search (tag portcullis.effect=deny) finds it');
  assert.ok(!denials.some((t) => t.traceID === AGENT_TRACE), 'and not the trace holding only allowed calls');
});

test('MCP tools/call, allowed and denied, in the agent trace: GenAI and MCP attributes equal to the ledger, the upstream span under the allowed one', async () => {
  const readSpan = '2b3c4d5e6f7a8b9c';
  const writeSpan = '3c4d5e6f7a8b9cad';
  const read = await mcpCall(7, 'read_file', { path: '/workspace/README.md' }, readSpan);
  assert.equal(read.result?.content?.[0]?.text, '# workspace\n');
  const before = fs.calls.length;
  const write = await mcpCall(8, 'write_file', { path: '/prod/config.yaml', content: 'x' }, writeSpan);
  assert.equal(write.error?.data?.code, 'PORTCULLIS_DENIED');
  assert.equal(fs.calls.length, before);

  const trace = await jaeger.waitForTrace(AGENT_TRACE, (t) => {
    const r = spanNamed(t, 'tools/call read_file', readSpan);
    return Boolean(r && childrenOf(t, r).length === 2 && spanNamed(t, 'tools/call write_file', writeSpan));
  });
  const allowed = spanNamed(trace, 'tools/call read_file', readSpan)!;
  const denied = spanNamed(trace, 'tools/call write_file', writeSpan)!;
  assert.equal(tag(allowed, Attr.TOOL_TYPE), 'extension');
  assert.equal(tag(allowed, Attr.TOOL_CALL_ID), '7');
  assert.equal(tag(denied, Attr.TOOL_CALL_ID), '8');
  assert.equal(tag(denied, Attr.EFFECT), 'deny');
  assert.equal(write.error.data.traceId, AGENT_TRACE);
  assert.equal(tag(denied, Attr.DECISION_ID), write.error.data.decisionId);

  const post = childrenOf(trace, allowed).find((k) => tag(k, 'span.kind') === 'client');
  assert.ok(post, 'the allowed call has an upstream client span');
  assert.equal(post.operationName, 'POST');
  assert.equal(tag(post, 'url.full'), fs.url);
  assert.ok(!childrenOf(trace, denied).some((k) => tag(k, 'span.kind') === 'client'), 'no upstream span for the denied call');

  for (const span of [allowed, denied]) {
    const { intent, outcome } = await entriesOf(String(tag(span, Attr.DECISION_ID)));
    assertMatchesLedger(span, intent, outcome);
  }
});

test('every trace Jaeger holds for the gate is one the ledger names, and no secret header value appears in anything Jaeger returns', async () => {
  await tracing.forceFlush();
  const intents = (await ledger()).filter((e) => e.kind === 'intent');
  const traceIds = [...new Set(intents.map((e) => e.record.traceId as string))].sort();
  const traces = await jaeger.waitForSearch({ service: SERVICE }, (ts) => ts.length >= traceIds.length && ts.reduce((n, t) => n + t.spans.filter(isDecision).length, 0) >= intents.length);
  assert.deepEqual(traces.map((t) => t.traceID).sort(), traceIds);
  const decisions = traces.flatMap((t) => t.spans.filter(isDecision));
  assert.deepEqual(decisions.map((s) => tag(s, Attr.DECISION_ID)).sort(), intents.map((e) => e.record.decisionId).sort(), 'one decision span per intent');

  // Jaeger's own checks of each trace, shown in the UI beside the span: the only
  // one expected is the agent's span, which the agent did not export here.
  const warnings = traces.flatMap((t) => t.spans.flatMap((s) => (s.warnings ?? []).map((w) => `${s.operationName}: ${w}`)));
  assert.deepEqual(
    warnings.filter((w) => !/^(execute_tool|tools\/call) \S+: invalid parent span IDs=[0-9a-f]{16}; skipping clock skew adjustment$/.test(w)),
    [],
  );

  const services = (await jaeger.api('/api/services')) as { data: string[] };
  assert.ok(services.data.includes(SERVICE));
  const answers = [JSON.stringify(traces), JSON.stringify(services)];
  for (const id of traceIds) {
    answers.push(JSON.stringify(await jaeger.api(`/api/traces/${id}`)));
    // The OTLP form of the same trace, as Jaeger stored it.
    answers.push(JSON.stringify(await jaeger.api(`/api/v3/traces/${id}`)));
  }
  answers.push(JSON.stringify(await jaeger.api(`/api/operations?service=${SERVICE}`)));
  const all = answers.join('\n');
  assert.ok(all.includes(bundle.digest), 'the answers hold the evidence');
  for (const secret of SECRETS) {
    const core = secret.split(/[ =]/).at(-1)!;
    assert.ok(!all.includes(core), `Jaeger returned ${secret}`);
  }
});

test('portcullis dev, pointed at Jaeger by OTEL_EXPORTER_OTLP_ENDPOINT alone, shows its decisions there as service portcullis-dev', async () => {
  const env: NodeJS.ProcessEnv = { PORTCULLIS_LOG_LEVEL: 'warn' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_') && !k.startsWith('PORTCULLIS_')) env[k] = v;
  env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpHttpUrl;
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'portcullis.js'), 'dev', '--policies', 'policies', '--port', '0', '--admin-port', '0', '--no-ledger'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    const proxy = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /export HTTP_PROXY=(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`portcullis dev exited (${code}) before it listened:\n${out}`)));
    });
    const res = await fetch(`${proxy}/tools/deploy/v1/anything`, { method: 'DELETE' });
    assert.equal(res.status, 403);
    const { error } = (await res.json()) as { error: { traceId: string; decisionId: string } };
    // The default batch delay (1 s) is what a person gets; the search waits for it.
    const found = await jaeger.waitForSearch({ service: 'portcullis-dev', tags: { [Attr.EFFECT]: 'deny' } }, (ts) => ts.some((t) => t.traceID === error.traceId));
    const decision = spanNamed(found.find((t) => t.traceID === error.traceId)!, 'execute_tool deploy')!;
    assert.ok(decision);
    assert.equal(tag(decision, Attr.DECISION_ID), error.decisionId);
    assert.match(String(tag(decision, Attr.POLICY_DIGEST)), /^sha256:[0-9a-f]{64}$/);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
  assert.equal(child.exitCode, 0, out);
});
