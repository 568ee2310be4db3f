/** The decision span and trace propagation through the sidecar, with the real tracing setup and an in-memory exporter. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { createTracing, tracingConfigFromEnv, type Tracing } from '../../src/telemetry/tracing.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
let tracing: Tracing;
const exporter = new InMemorySpanExporter();
const metrics = createMetrics({ processMetrics: false });

before(async () => {
  upstream = await startUpstream();
  tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '0' }), exporter });
  const engine = functionEngine((i: any) => (i.action.http.path === '/no' ? { effect: 'deny', reason: 'no' } : { effect: 'allow', reason: 'yes' }));
  sidecar = await startSidecar({ engine, tracing, metrics });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
  await tracing.shutdown();
});

const AGENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

test('the agent trace continues through the decision span to the upstream', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/yes`, headers: { traceparent: `00-${AGENT_TRACE}-00f067aa0ba902b7-01` } });
  assert.equal(r.status, 200);
  const sent = String(upstream.log.at(-1)!.headers.traceparent);
  assert.match(sent, new RegExp(`^00-${AGENT_TRACE}-[0-9a-f]{16}-01$`));
  await tracing.forceFlush();
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === AGENT_TRACE);
  const decision = spans.find((s) => s.name.startsWith('execute_tool'))!;
  assert.equal(decision.attributes['portcullis.effect'], 'allow');
  assert.match(String(decision.attributes['portcullis.input.hash']), /^sha256:[0-9a-f]{64}$/);
  assert.match(String(decision.attributes['portcullis.output.hash']), /^sha256:[0-9a-f]{64}$/);
  const client = spans.find((s) => s.name === 'GET')!;
  assert.equal(sent.split('-')[2], client.spanContext().spanId);
});

test('a denied call is a span with the error, and a 403 carrying the same trace ID', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/no` });
  assert.equal(r.status, 403);
  const traceId = r.json().error.traceId;
  await tracing.forceFlush();
  const span = exporter.getFinishedSpans().find((s) => s.spanContext().traceId === traceId && s.name.startsWith('execute_tool'))!;
  assert.equal(span.attributes['portcullis.effect'], 'deny');
  assert.equal(span.attributes['error.type'], 'PORTCULLIS_DENIED', JSON.stringify(span.attributes));
  const text = await metrics.registry.metrics();
  assert.match(text, /portcullis_decisions_total\{effect="deny"/);
  assert.match(text, /portcullis_upstream_duration_seconds_count\{tool="external",outcome="ok"\} 1/);
});
