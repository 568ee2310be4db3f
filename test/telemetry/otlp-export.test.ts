import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { otlpHttpTransport, type OtlpTransport } from '../../src/telemetry/otlp-http.ts';
import { OtlpSpanProcessor, type SpanExportReport } from '../../src/telemetry/otlp-span-processor.ts';

/** A loopback collector: answers each POST as `answer` says, and keeps what arrived. */
async function collector(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; bodies: Buffer[]; paths: string[]; types: string[]; close(): Promise<void> }> {
  const bodies: Buffer[] = [];
  const paths: string[] = [];
  const types: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      paths.push(req.url ?? '');
      types.push(String(req.headers['content-type']));
      answer(bodies.length, req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    bodies,
    paths,
    types,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function counting(): SpanExportReport & { counts: Record<string, number>; errors: unknown[] } {
  const counts: Record<string, number> = { exported: 0, failed: 0, dropped: 0 };
  const errors: unknown[] = [];
  return {
    counts,
    errors,
    exported: (n) => void (counts.exported! += n),
    failed: (n, e) => {
      counts.failed! += n;
      errors.push(e);
    },
    dropped: (n) => void (counts.dropped! += n),
  };
}

test('the transport posts protobuf to the traces path, tries a busy collector again and gives up on a refusal at once', async () => {
  const c = await collector((n, _req, res) => {
    if (n === 1) res.writeHead(503, { 'retry-after': '0' }).end('busy');
    else if (n === 2) res.writeHead(200).end();
    else res.writeHead(400).end('bad spans');
  });
  const t = otlpHttpTransport({ url: c.url, headers: { 'x-token': 'abc' }, timeoutMs: 5000 });
  try {
    await t.send(Buffer.from('one'));
    assert.deepEqual(c.bodies.map(String), ['one', 'one'], 'sent again after the 503');
    assert.deepEqual(c.paths, ['/v1/traces', '/v1/traces']);
    assert.equal(c.types[0], 'application/x-protobuf');
    await assert.rejects(t.send(Buffer.from('two')), /answered 400: bad spans/);
    assert.equal(c.bodies.length, 3, 'a 400 is not tried again');
  } finally {
    await t.destroy();
    await c.close();
  }
});

test('the transport stops trying when the collector asks for a longer pause than the export may take', async () => {
  const c = await collector((_n, _req, res) => res.writeHead(429, { 'retry-after': '30' }).end());
  const t = otlpHttpTransport({ url: c.url, headers: {}, timeoutMs: 2000 });
  try {
    await assert.rejects(t.send(Buffer.from('x')), /answered 429/);
    assert.equal(c.bodies.length, 1);
  } finally {
    await t.destroy();
    await c.close();
  }
});

test('an unreachable collector fails the export with where it was sent', async () => {
  const c = await collector(() => undefined);
  const url = c.url;
  await c.close();
  const t = otlpHttpTransport({ url, headers: {}, timeoutMs: 200 });
  try {
    await assert.rejects(t.send(Buffer.from('x')), (e: Error) => e.message.includes(url) && /cannot reach/.test(e.message));
  } finally {
    await t.destroy();
  }
});

/** A transport whose sends wait until it is released (from then on they settle at once), counting what it was given. */
function heldTransport(): OtlpTransport & { sent: Buffer[]; release(): void; destroyed: boolean } {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((r) => (open = r));
  const t = {
    sent: [] as Buffer[],
    destroyed: false,
    release: () => open(),
    send: async (body: Buffer) => {
      t.sent.push(body);
      await gate;
    },
    destroy: async () => {
      t.destroyed = true;
    },
  };
  return t;
}

function tracerWith(processor: OtlpSpanProcessor): ReturnType<BasicTracerProvider['getTracer']> {
  return new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('portcullis');
}

test('spans are sent in batches of maxExportBatchSize; beyond maxQueueSize waiting, a span is dropped and counted, not waited for', async () => {
  const transport = heldTransport();
  const report = counting();
  const processor = new OtlpSpanProcessor({ transport, scheduleDelayMs: 60_000, maxExportBatchSize: 2, maxQueueSize: 4, report });
  const tracer = tracerWith(processor);
  for (let i = 0; i < 5; i++) tracer.startSpan(`s${i}`).end();
  assert.equal(transport.sent.length, 2, 'two full batches went at once, without waiting for the delay');
  assert.equal(report.counts.dropped, 1, 'the fifth span found four waiting');
  transport.release();
  await processor.forceFlush();
  assert.equal(report.counts.exported, 4);
  tracer.startSpan('after').end();
  await processor.forceFlush();
  assert.equal(transport.sent.length, 3, 'forceFlush sends a batch that is not full');
  assert.equal(report.counts.exported, 5);
  await processor.shutdown();
  assert.ok(transport.destroyed);
  tracer.startSpan('late').end();
  assert.equal(transport.sent.length, 3, 'nothing is sent after shutdown');
});

test('a batch that is not full goes after scheduleDelayMs; an unsampled span is not sent', async () => {
  const c = await collector((_n, _req, res) => res.writeHead(200).end());
  const transport = otlpHttpTransport({ url: c.url, headers: {}, timeoutMs: 5000 });
  const report = counting();
  const processor = new OtlpSpanProcessor({ transport, scheduleDelayMs: 20, maxExportBatchSize: 512, maxQueueSize: 2048, report });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('portcullis');
  try {
    const arrived = new Promise<void>((resolve) => {
      const sent = report.exported;
      report.exported = (n) => {
        sent(n);
        resolve();
      };
    });
    tracer.startSpan('a').end();
    tracer.startSpan('b').end();
    await arrived;
    assert.equal(c.bodies.length, 1);
    assert.equal(report.counts.exported, 2);
    const unsampled = new BasicTracerProvider({ spanProcessors: [processor], sampler: { shouldSample: () => ({ decision: 1 }), toString: () => 'record-only' } }).getTracer('t');
    unsampled.startSpan('recorded, not sampled').end();
    await processor.forceFlush();
    assert.equal(c.bodies.length, 1, 'a span recorded but not sampled is not exported');
  } finally {
    await processor.shutdown();
    await c.close();
  }
});

test('a span that cannot be encoded is counted as failed; the call that ended it is not disturbed', async () => {
  const transport = heldTransport();
  transport.release();
  const report = counting();
  const processor = new OtlpSpanProcessor({ transport, scheduleDelayMs: 0, maxExportBatchSize: 512, maxQueueSize: 2048, report });
  const tracer = tracerWith(processor);
  const span = tracer.startSpan('broken');
  // An attribute whose encoding throws: the SDK keeps the value as given.
  Object.defineProperty((span as unknown as { attributes: object }).attributes, 'boom', { enumerable: true, get: () => { throw new Error('cannot read'); } });
  assert.doesNotThrow(() => span.end());
  tracer.startSpan('fine').end();
  await processor.forceFlush();
  assert.deepEqual(report.counts, { exported: 1, failed: 1, dropped: 0 });
  assert.equal(transport.sent.length, 1);
  await processor.shutdown();
});

test('a failed export is counted with its error and does not stop later ones', async () => {
  const c = await collector((n, _req, res) => res.writeHead(n === 1 ? 400 : 200).end());
  const transport = otlpHttpTransport({ url: c.url, headers: {}, timeoutMs: 5000 });
  const report = counting();
  const processor = new OtlpSpanProcessor({ transport, scheduleDelayMs: 0, maxExportBatchSize: 512, maxQueueSize: 2048, report });
  const tracer = tracerWith(processor);
  try {
    tracer.startSpan('refused').end();
    await processor.forceFlush();
    tracer.startSpan('accepted').end();
    await processor.forceFlush();
    assert.deepEqual(report.counts, { exported: 1, failed: 1, dropped: 0 });
    assert.match(String((report.errors[0] as Error).message), /answered 400/);
  } finally {
    await processor.shutdown();
    await c.close();
  }
});
