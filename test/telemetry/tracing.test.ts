import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTracing, tracingConfigFromEnv, traceIdOf } from '../../src/telemetry/tracing.ts';
import { Attr, startDecisionSpan } from '../../src/telemetry/decision-span.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { OtlpReceiver } from './support/otlp-receiver.ts';
import { ROOT_CONTEXT, defaultTextMapSetter, trace as traceApi, type Span as ApiSpan } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** What the W3C propagator writes for `span`: the oracle for the traceparent the client span writes itself. */
function w3cInject(span: ApiSpan, headers: Record<string, string>): void {
  new W3CTraceContextPropagator().inject(traceApi.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
}

const AGENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const AGENT_PARENT = '00f067aa0ba902b7';

describe('tracingConfigFromEnv', () => {
  it('reads the standard OTEL_* variables', () => {
    const c = tracingConfigFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/',
      OTEL_SERVICE_NAME: 'sidecar',
      OTEL_RESOURCE_ATTRIBUTES: 'k8s.pod.name=agent-0,deployment.environment=dev',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-token=abc',
    });
    assert.equal(c.enabled, true);
    assert.equal(c.url, 'http://jaeger:4318/v1/traces');
    assert.equal(c.protocol, 'http/protobuf');
    assert.equal(c.serviceName, 'sidecar');
    assert.deepEqual(c.resourceAttributes, { 'k8s.pod.name': 'agent-0', 'deployment.environment': 'dev' });
    assert.deepEqual(c.headers, { 'x-token': 'abc' });
    assert.ok(Object.isFrozen(c));
  });

  it('takes the traces endpoint as is, and can be disabled', () => {
    const c = tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    assert.equal(c.url, 'http://c:4318/custom');
    assert.equal(c.protocol, 'http/json');
    assert.equal(tracingConfigFromEnv({ OTEL_SDK_DISABLED: 'true' }).enabled, false);
    assert.equal(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'none' }).enabled, false);
  });

  it('reads the batching and export settings, and keeps at least one full batch in the queue', () => {
    const d = tracingConfigFromEnv({});
    assert.deepEqual([d.maxExportBatchSize, d.maxQueueSize, d.exportTimeoutMs], [512, 2048, 10_000]);
    const big = tracingConfigFromEnv({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4096' });
    assert.equal(big.maxQueueSize, 4096, 'an unset queue size follows a larger batch');
    assert.throws(() => tracingConfigFromEnv({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100', OTEL_BSP_MAX_QUEUE_SIZE: '50' }), (e: { details?: { variable?: string } }) => e.details?.variable === 'OTEL_BSP_MAX_QUEUE_SIZE');
    assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '3000', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2000' }).exportTimeoutMs, 2000);
    assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '3000' }).exportTimeoutMs, 3000);
  });

  it('names a bad setting', () => {
    assert.throws(() => tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), (e: { code?: string; details?: { variable?: string } }) => e.code === ErrorCodes.CONFIG && e.details?.variable === 'OTEL_EXPORTER_OTLP_PROTOCOL');
    assert.throws(() => tracingConfigFromEnv({ OTEL_TRACES_SAMPLER_ARG: '2' }), (e: { code?: string }) => e.code === ErrorCodes.CONFIG);
    assert.throws(() => tracingConfigFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'novalue' }), (e: { code?: string }) => e.code === ErrorCodes.CONFIG);
  });
});

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`decision spans exported over OTLP ${protocol}`, () => {
    const receiver = new OtlpReceiver();
    let endpoint: string;
    before(async () => {
      endpoint = await receiver.start();
    });
    after(async () => {
      await receiver.close();
    });

    it('continues the agent trace and carries the GenAI and Portcullis attributes', async () => {
      const tracing = await createTracing({
        config: tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_SERVICE_NAME: 'portcullis-test' }),
      });
      const parent = tracing.extract({ traceparent: `00-${AGENT_TRACE}-${AGENT_PARENT}-01` });
      assert.equal(traceIdOf(parent), AGENT_TRACE);
      const span = startDecisionSpan(tracing, { parent, toolName: 'write_file', actionType: 'mcp', mode: 'enforce', toolCallId: 7, mcpMethod: 'tools/call', decisionId: 'd-1' });
      assert.equal(span.traceId, AGENT_TRACE);
      const evaluation = span.startEvaluation('portcullis/decision');
      evaluation.end();
      span.recordDecision({
        effect: 'allow',
        enforcedEffect: 'allow',
        reason: 'ok',
        policyDigest: 'sha256:' + '1'.repeat(64),
        bundle: 'default',
        entrypoint: 'portcullis/decision',
        inputHash: 'sha256:' + '2'.repeat(64),
      });
      span.recordLedger(3, 'sha256:' + '3'.repeat(64));
      const upstream = span.startUpstream('post', 'http://fs.tools:8080/mcp');
      const headers: Record<string, string> = {};
      w3cInject(upstream.span, headers);
      assert.equal(upstream.traceparent, headers['traceparent'], 'the client span writes the traceparent the W3C propagator writes');
      upstream.end();
      span.recordOutput('sha256:' + '4'.repeat(64), 120, 200);
      span.end();
      await tracing.forceFlush();
      const spans = await receiver.waitFor((s) => s.length >= 3);
      await tracing.shutdown();

      const decision = spans.find((s) => s.name === 'tools/call write_file')!;
      const evalSpan = spans.find((s) => s.name === 'portcullis.policy.evaluate')!;
      const client = spans.find((s) => s.name === 'POST')!;
      assert.ok(decision && evalSpan && client, spans.map((s) => s.name).join(', '));
      assert.equal(decision.encoding, protocol === 'http/json' ? 'json' : 'protobuf');
      assert.equal(decision.traceId, AGENT_TRACE);
      assert.equal(decision.parentSpanId, AGENT_PARENT);
      assert.equal(decision.resource['service.name'], 'portcullis-test');
      assert.equal(decision.resource['telemetry.sdk.language'], 'nodejs', 'the SDK resource attributes are kept');
      assert.deepEqual(
        {
          op: decision.attributes[Attr.OPERATION],
          tool: decision.attributes[Attr.TOOL_NAME],
          call: decision.attributes[Attr.TOOL_CALL_ID],
          effect: decision.attributes[Attr.EFFECT],
          digest: decision.attributes[Attr.POLICY_DIGEST],
          input: decision.attributes[Attr.INPUT_HASH],
          output: decision.attributes[Attr.OUTPUT_HASH],
          mode: decision.attributes[Attr.MODE],
          bundle: decision.attributes[Attr.BUNDLE],
          seq: decision.attributes[Attr.LEDGER_SEQ],
        },
        {
          op: 'execute_tool',
          tool: 'write_file',
          call: '7',
          effect: 'allow',
          digest: 'sha256:' + '1'.repeat(64),
          input: 'sha256:' + '2'.repeat(64),
          output: 'sha256:' + '4'.repeat(64),
          mode: 'enforce',
          bundle: 'default',
          seq: 3,
        },
      );
      assert.equal(evalSpan.parentSpanId, decision.spanId);
      assert.equal(client.parentSpanId, decision.spanId);
      assert.equal(client.kind, 3, 'OTLP SPAN_KIND_CLIENT');
      assert.equal(decision.kind, 1, 'OTLP SPAN_KIND_INTERNAL');
      // What goes upstream continues the same trace, under the client span.
      assert.equal(headers.traceparent, `00-${AGENT_TRACE}-${client.spanId}-01`);
      assert.ok(receiver.requests.every((r) => r.path === '/v1/traces'));
    });
  });
}

describe('tracing without export', () => {
  it('still gives every decision a trace ID when disabled', async () => {
    const tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_SDK_DISABLED: 'true' }) });
    const span = startDecisionSpan(tracing, { parent: tracing.extract({}), toolName: 'x', actionType: 'http', mode: 'observe' });
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(span.traceId, '0'.repeat(32));
    span.end();
    await tracing.shutdown();
  });
});

describe('decision span children', () => {
  it('adds the evaluation child itself when the caller did not, lasting the evaluation time given', async () => {
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-base');
    const exporter = new InMemorySpanExporter();
    const tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '0' }), exporter });
    const span = startDecisionSpan(tracing, { parent: tracing.extract({}), toolName: 'read_file', actionType: 'mcp', mode: 'observe' });
    span.recordDecision({
      effect: 'deny',
      enforcedEffect: 'allow',
      reason: 'would deny',
      policyDigest: 'sha256:' + '5'.repeat(64),
      bundle: 'b',
      entrypoint: 'portcullis/decision',
      inputHash: 'sha256:' + '6'.repeat(64),
      evaluationMs: 2,
    });
    span.fail('PORTCULLIS_UPSTREAM', 'upstream refused');
    span.end();
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const evaluation = spans.find((s) => s.name === 'portcullis.policy.evaluate');
    const decision = spans.find((s) => s.name === 'execute_tool read_file');
    assert.ok(evaluation && decision);
    assert.equal(evaluation.parentSpanContext?.spanId, decision.spanContext().spanId);
    const ms = (evaluation.duration[0] * 1e9 + evaluation.duration[1]) / 1e6;
    assert.ok(Math.abs(ms - 2) < 0.5, `evaluation lasted ${ms} ms, not the 2 ms given`);
    assert.equal(decision.attributes[Attr.ENFORCED_EFFECT], 'allow');
    assert.equal(decision.attributes[Attr.ERROR_TYPE], 'PORTCULLIS_UPSTREAM');
    assert.equal(decision.status.code, 2);
    await tracing.shutdown();
  });
});

describe('decision span timing and upstream failures', () => {
  it('places every child within the decision span, to the microsecond', async () => {
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-base');
    const exporter = new InMemorySpanExporter();
    const tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '0' }), exporter });
    // Many short decisions: with a millisecond wall clock, some evaluation would start before its parent.
    for (let i = 0; i < 200; i++) {
      const span = startDecisionSpan(tracing, { parent: tracing.extract({}), toolName: 't', actionType: 'http', mode: 'enforce' });
      const t0 = performance.now();
      while (performance.now() - t0 < 0.05);
      span.recordDecision({ effect: 'allow', enforcedEffect: 'allow', reason: 'r', policyDigest: 'd', bundle: 'b', entrypoint: 'e', inputHash: 'h', evaluationMs: performance.now() - t0 });
      span.startUpstream('get', 'http://x.test/').finish(200);
      span.end();
    }
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const ns = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
    const parents = new Map(spans.filter((s) => s.name === 'execute_tool t').map((s) => [s.spanContext().spanId, s]));
    let children = 0;
    for (const child of spans.filter((s) => s.parentSpanContext)) {
      const parent = parents.get(child.parentSpanContext!.spanId)!;
      assert.ok(ns(child.startTime) >= ns(parent.startTime), `${child.name} starts ${ns(parent.startTime) - ns(child.startTime)} ns before its parent`);
      assert.ok(ns(child.endTime) <= ns(parent.endTime), `${child.name} ends ${ns(child.endTime) - ns(parent.endTime)} ns after its parent`);
      children++;
    }
    assert.equal(children, 400);
    await tracing.shutdown();
  });

  it('a client span given an origin and a path has the attributes a parsed URL gives it', async () => {
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-base');
    const exporter = new InMemorySpanExporter();
    const tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '0' }), exporter });
    const targets = [
      { origin: 'http://127.0.0.1:8080', path: '/v1/charges?amount=5&x=%20' },
      { origin: 'https://payments.example.test', path: '/' },
      { origin: 'http://[::1]:9000', path: '/mcp' },
      { origin: 'https://api.test:8443', path: '/a/b?' },
      { origin: 'http://user@odd.test', path: '/not-an-origin' },
      { origin: 'http://x.test:80', path: '/default-port' },
      { origin: 'HTTP://Upper.Test', path: '/case' },
    ];
    const span = startDecisionSpan(tracing, { parent: tracing.extract({}), toolName: 't', actionType: 'http', mode: 'enforce' });
    for (const t of targets) {
      span.startUpstream('get', t).finish(200);
      span.startUpstream('get', t.origin + t.path).finish(200);
    }
    span.end();
    await tracing.forceFlush();
    const clients = exporter.getFinishedSpans().filter((s) => s.name === 'GET');
    assert.equal(clients.length, targets.length * 2);
    for (let i = 0; i < targets.length; i++) assert.deepEqual(clients[2 * i]!.attributes, clients[2 * i + 1]!.attributes, JSON.stringify(targets[i]));
    assert.equal(clients[0]!.attributes['url.full'], 'http://127.0.0.1:8080/v1/charges');
    assert.equal(clients[2]!.attributes['server.port'], 443);
    assert.equal(clients[4]!.attributes['server.address'], '[::1]');
    await tracing.shutdown();
  });

  it('an unsampled client span writes the traceparent the W3C propagator writes, flags 00', async () => {
    const tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }), exporter: new (await import('@opentelemetry/sdk-trace-base')).InMemorySpanExporter() });
    const parent = tracing.extract({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' });
    const span = startDecisionSpan(tracing, { parent, toolName: 't', actionType: 'http', mode: 'enforce' });
    const upstream = span.startUpstream('get', { origin: 'http://x.test', path: '/' });
    const headers: Record<string, string> = {};
    w3cInject(upstream.span, headers);
    assert.equal(upstream.traceparent, headers['traceparent']);
    assert.match(upstream.traceparent, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    upstream.finish(200);
    span.end();
    await tracing.shutdown();
  });

  it('an upstream that never answered: the client span is failed with the code, and claims no HTTP status', async () => {
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-base');
    const exporter = new InMemorySpanExporter();
    const tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '0' }), exporter });
    const span = startDecisionSpan(tracing, { parent: tracing.extract({}), toolName: 'payments', actionType: 'http', mode: 'enforce' });
    span.startUpstream('post', 'http://payments.test/v1/charges').finish(0, 'PORTCULLIS_UPSTREAM');
    span.recordOutput(undefined, 0, 0);
    span.fail('PORTCULLIS_UPSTREAM');
    span.end();
    await tracing.forceFlush();
    const [client, decision] = ['POST', 'execute_tool payments'].map((n) => exporter.getFinishedSpans().find((s) => s.name === n)!);
    assert.equal(client!.status.code, 2);
    assert.equal(client!.attributes[Attr.ERROR_TYPE], 'PORTCULLIS_UPSTREAM');
    assert.equal(client!.attributes['http.response.status_code'], undefined);
    assert.equal(decision!.attributes['http.response.status_code'], undefined);
    assert.equal(decision!.attributes[Attr.OUTPUT_BYTES], 0);
    await tracing.shutdown();
  });
});
