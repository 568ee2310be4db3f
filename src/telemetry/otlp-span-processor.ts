/**
 * The span processor of OTLP/HTTP protobuf export: each sampled span is
 * encoded into its batch the moment it ends (otlp-encoding.ts), and a batch
 * is sent when it holds `maxExportBatchSize` spans or `scheduleDelayMs` after
 * its first span, whichever comes first (0: each span as it ends).
 *
 * Encoding as spans end, rather than all at once when a batch is sent, keeps
 * a span object from outliving its request and spreads the work evenly: there
 * is no pause while hundreds of spans are encoded in one go. Spans waiting or
 * in flight are bounded by `maxQueueSize`; beyond it a span is dropped and
 * counted, never waited for: export must not slow the calls it describes.
 */
import { TraceFlags, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { KeyCache, SpanBatch, type SpanOrigin } from './otlp-encoding.ts';
import type { OtlpTransport } from './otlp-http.ts';

/** What happened to spans: each call counts `n` spans. */
export interface SpanExportReport {
  exported(n: number): void;
  failed(n: number, error: unknown): void;
  dropped(n: number): void;
}

export interface OtlpSpanProcessorOptions {
  transport: OtlpTransport;
  scheduleDelayMs: number;
  maxExportBatchSize: number;
  maxQueueSize: number;
  report?: SpanExportReport | undefined;
}

export class OtlpSpanProcessor implements SpanProcessor {
  readonly #options: OtlpSpanProcessorOptions;
  readonly #keys = new KeyCache();
  /** One batch per resource and scope (the SDK reuses both objects for every span of a tracer). */
  readonly #batches = new Map<SpanOrigin['resource'], Map<SpanOrigin['scope'], SpanBatch>>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  /** Spans encoded and not yet settled (waiting in a batch or being sent). */
  #held = 0;
  #closed = false;

  constructor(options: OtlpSpanProcessorOptions) {
    this.#options = options;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#closed || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#held >= this.#options.maxQueueSize) {
      this.#options.report?.dropped(1);
      return;
    }
    const batch = this.#batchOf(span);
    try {
      batch.add(span);
    } catch (e) {
      // A span that cannot be encoded is lost, never the call that ended it.
      this.#options.report?.failed(1, e);
      return;
    }
    this.#held++;
    if (batch.count >= this.#options.maxExportBatchSize || this.#options.scheduleDelayMs === 0) this.#send(batch);
    else this.#timer ??= setTimeout(() => this.#sendAll(), this.#options.scheduleDelayMs).unref();
  }

  #batchOf(span: ReadableSpan): SpanBatch {
    let byScope = this.#batches.get(span.resource);
    if (!byScope) this.#batches.set(span.resource, (byScope = new Map()));
    let batch = byScope.get(span.instrumentationScope);
    if (!batch) byScope.set(span.instrumentationScope, (batch = new SpanBatch({ resource: span.resource, scope: span.instrumentationScope }, this.#keys)));
    return batch;
  }

  #sendAll(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const byScope of this.#batches.values()) for (const batch of byScope.values()) if (batch.count > 0) this.#send(batch);
  }

  #send(batch: SpanBatch): void {
    const n = batch.count;
    const body = batch.request();
    const report = this.#options.report;
    const sending = this.#options.transport.send(body).then(
      () => report?.exported(n),
      (e: unknown) => report?.failed(n, e),
    );
    const settled = sending.finally(() => {
      this.#held -= n;
      this.#inFlight.delete(settled);
    });
    this.#inFlight.add(settled);
  }

  /** Sends every waiting span and resolves once every export in flight has settled. */
  async forceFlush(): Promise<void> {
    this.#sendAll();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  async shutdown(): Promise<void> {
    if (this.#closed) return;
    await this.forceFlush();
    this.#closed = true;
    await this.#options.transport.destroy();
  }
}
