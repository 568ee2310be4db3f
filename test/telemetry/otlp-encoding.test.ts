import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type SpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { KeyCache, ProtoWriter, SpanBatch } from '../../src/telemetry/otlp-encoding.ts';

const requestType = protobuf.parse(readFileSync(join(import.meta.dirname, 'support', 'otlp-trace.proto'), 'utf8')).root.lookupType('otlp.ExportTraceServiceRequest');

/** A decoded request with every default filled in, so that a field left out and a field written as its default compare equal. */
function decoded(bytes: Uint8Array): unknown {
  return requestType.toObject(requestType.decode(bytes), { longs: String, bytes: String, defaults: true, arrays: true, oneofs: true });
}

/** Real SDK spans of every shape the encoder meets: each attribute type, events, links, error status, trace state, a remote parent. */
function spans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'portcullis-test', 'k8s.pod.name': 'agent-ü-0', count: 3 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('portcullis', '1.2.3');
  const remote: SpanContext = { traceId: '5bd66ef5095369c7b0d1f8f4bd33716a', spanId: 'c532cb4098ac3dd2', traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: new TraceState('vendor=a,other=b') };
  const parent = trace.setSpanContext(ROOT_CONTEXT, remote);
  const root = tracer.startSpan('tools/call pay', {
    kind: SpanKind.INTERNAL,
    startTime: [1_796_380_000, 123_456_789],
    attributes: {
      'gen_ai.tool.name': 'pay',
      'long.text': 'x'.repeat(300),
      'non.ascii': 'zahlung → ✓ 🚀',
      'portcullis.ledger.seq': 42,
      'big.int': 2 ** 40 + 7,
      'negative.int': -5,
      'a.double': 0.25,
      'a.bool': false,
      'strings': ['a', 'b'],
      'numbers': [1, 2.5, -3],
      'bools': [true, false],
      'with.holes': ['a', null, 'c'],
    },
    links: [{ context: { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.NONE }, attributes: { why: 'retry' } }],
  }, parent);
  root.addEvent('escalated', { approver: 'alice' }, [1_796_380_000, 200_000_000]);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'PORTCULLIS_DENIED' });
  const child = tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: [1_796_380_000, 300_000_000] }, trace.setSpan(parent, root));
  child.setStatus({ code: SpanStatusCode.OK });
  child.end([1_796_380_000, 400_000_000]);
  root.end([1_796_380_001, 0]);
  const lone = tracer.startSpan('execute_tool x', { startTime: [1_796_380_002, 5] });
  lone.end([1_796_380_002, 999_999_999]);
  return exporter.getFinishedSpans();
}

test('a batch encodes to what the OpenTelemetry SDK serialiser encodes, field for field (decoded with the OTLP definitions)', () => {
  const finished = spans();
  assert.equal(finished.length, 3);
  const batch = new SpanBatch({ resource: finished[0]!.resource, scope: finished[0]!.instrumentationScope }, new KeyCache());
  for (const s of finished) batch.add(s);
  assert.equal(batch.count, 3);
  const ours = batch.request();
  const theirs = ProtobufTraceSerializer.serializeRequest(finished)!;
  assert.deepEqual(decoded(ours), decoded(theirs));
  // The batch starts empty again, and encodes the next spans alone.
  assert.equal(batch.count, 0);
  batch.add(finished[2]!);
  assert.deepEqual(decoded(batch.request()), decoded(ProtobufTraceSerializer.serializeRequest([finished[2]!])!));
});

test('nested lengths past one byte, and the kept key encodings, stay right over many spans', () => {
  const finished = spans();
  const batch = new SpanBatch({ resource: finished[0]!.resource, scope: finished[0]!.instrumentationScope }, new KeyCache(2));
  const many = Array.from({ length: 200 }, (_, i) => finished[i % 3]!);
  for (const s of many) batch.add(s);
  const body = batch.request();
  assert.ok(body.length > 16_384, 'the scope and resource lengths need three bytes');
  assert.deepEqual(decoded(body), decoded(ProtobufTraceSerializer.serializeRequest(many)!));
});

test('repeated attribute pairs are copied as kept, and a key past its number of kept values is encoded afresh', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('portcullis');
  for (let i = 0; i < 40; i++) tracer.startSpan('s', { attributes: { few: `v${i % 2}`, many: `id-${i % 7}`, n: i, 'other.few': i % 3 === 0 ? 'x' : 'y' } }).end();
  const finished = exporter.getFinishedSpans();
  const batch = new SpanBatch({ resource: finished[0]!.resource, scope: finished[0]!.instrumentationScope }, new KeyCache(512, 3));
  for (const s of finished) batch.add(s);
  assert.deepEqual(decoded(batch.request()), decoded(ProtobufTraceSerializer.serializeRequest(finished)!));
});

test('a span that cannot be encoded throws and leaves the batch as it was', () => {
  const finished = spans();
  const batch = new SpanBatch({ resource: finished[0]!.resource, scope: finished[0]!.instrumentationScope }, new KeyCache());
  batch.add(finished[0]!);
  const broken = { ...finished[1]!, spanContext: finished[1]!.spanContext, status: undefined } as unknown as ReadableSpan;
  assert.throws(() => batch.add(broken));
  batch.add(finished[2]!);
  assert.equal(batch.count, 2);
  assert.deepEqual(decoded(batch.request()), decoded(ProtobufTraceSerializer.serializeRequest([finished[0]!, finished[2]!])!));
});

test('varints and fixed fields are written as protobuf defines them', () => {
  const w = new ProtoWriter(1);
  w.uint(1, 300);
  w.int64(2, -1);
  w.fixed32(3, 0x201);
  w.time(4, [1, 5]);
  assert.equal(w.view().toString('hex'), '08ac02' + '10ffffffffffffffffff01' + '1d01020000' + '21' + '05ca9a3b00000000');
  const m = new ProtoWriter(1);
  const mark = m.begin(1);
  m.string(2, 'y'.repeat(200));
  m.end(mark);
  const bytes = m.view();
  // tag 0x0a, length 203 as two bytes (cb 01), then the string field (12 c8 01 …)
  assert.equal(bytes.subarray(0, 6).toString('hex'), '0acb0112c801');
  assert.equal(bytes.length, 3 + 203);
});
