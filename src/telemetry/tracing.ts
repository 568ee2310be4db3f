/**
 * OpenTelemetry tracing, configured by the standard `OTEL_*` variables so that
 * pointing Portcullis at Jaeger's OTLP port is all a user does:
 *
 *   OTEL_SDK_DISABLED=true            no export (spans still get IDs)
 *   OTEL_TRACES_EXPORTER=otlp|none|console
 *   OTEL_EXPORTER_OTLP_ENDPOINT       base URL, `/v1/traces` is appended
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT full URL, used as is
 *   OTEL_EXPORTER_OTLP_PROTOCOL / _TRACES_PROTOCOL  http/protobuf (default) or http/json
 *   OTEL_EXPORTER_OTLP_HEADERS / _TRACES_HEADERS    k=v,k2=v2
 *   OTEL_EXPORTER_OTLP_TIMEOUT / _TRACES_TIMEOUT    ms per export, retries included (10000)
 *   PORTCULLIS_TRACE_SHUTDOWN_TIMEOUT_MS  how long stopping waits for the last spans (1000)
 *   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
 *   OTEL_TRACES_SAMPLER (+ _ARG), OTEL_BSP_SCHEDULE_DELAY,
 *   OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_QUEUE_SIZE
 *
 * The provider is never registered globally: the tracer, the propagator and
 * the flush are handed to whoever needs them, and parent contexts are passed
 * explicitly, so several instances (tests, the controller beside a sidecar)
 * never interfere.
 */
import {
  ROOT_CONTEXT,
  trace,
  type Context,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { otlpHttpTransport, type OtlpTransport } from './otlp-http.ts';
import { OtlpSpanProcessor, type SpanExportReport } from './otlp-span-processor.ts';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Tracing settings read once from the environment. */
export interface TracingConfig {
  readonly enabled: boolean;
  readonly exporter: 'otlp' | 'console' | 'none';
  /** Full URL of the traces endpoint. */
  readonly url: string;
  readonly protocol: OtlpProtocol;
  readonly headers: Readonly<Record<string, string>>;
  /** One export, retries included. */
  readonly exportTimeoutMs: number;
  readonly serviceName: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: string;
  readonly samplerArg: number | undefined;
  /** Batch span processor delay; 0 exports each span as it ends. */
  readonly scheduleDelayMs: number;
  /** Spans per export request: a batch is sent as soon as this many wait. */
  readonly maxExportBatchSize: number;
  /** Spans kept waiting for export at most; beyond it new spans are dropped. */
  readonly maxQueueSize: number;
  /** How long shutdown waits for the last spans to be exported; then they are dropped. */
  readonly shutdownTimeoutMs: number;
}

function parseKeyValues(text: string | undefined, variable: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new PortcullisError(ErrorCodes.CONFIG, `${variable}: "${part}" is not key=value`, { variable });
    out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

function parseProtocol(value: string | undefined): OtlpProtocol {
  if (value === undefined || value === '' || value === 'http/protobuf') return 'http/protobuf';
  if (value === 'http/json') return 'http/json';
  throw new PortcullisError(
    ErrorCodes.CONFIG,
    `OTEL_EXPORTER_OTLP_PROTOCOL: "${value}" is not supported; use http/protobuf or http/json (gRPC is not shipped)`,
    { variable: 'OTEL_EXPORTER_OTLP_PROTOCOL' },
  );
}

function tracesUrl(env: NodeJS.ProcessEnv): string {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://localhost:4318';
  return base.replace(/\/+$/, '') + '/v1/traces';
}

function badSetting(variable: string, message: string): PortcullisError {
  return new PortcullisError(ErrorCodes.CONFIG, `${variable} ${message}`, { variable });
}

function exporterOf(env: NodeJS.ProcessEnv): TracingConfig['exporter'] | 'none' {
  const exporter = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',')[0]!.trim().toLowerCase() || 'otlp';
  if (exporter !== 'otlp' && exporter !== 'console' && exporter !== 'none') {
    throw new PortcullisError(ErrorCodes.CONFIG, `OTEL_TRACES_EXPORTER: "${exporter}" is not supported; use otlp, console or none`, { variable: 'OTEL_TRACES_EXPORTER' });
  }
  return exporter;
}

/** A numeric setting, `fallback` when unset; `valid` says which values are allowed, `expected` what to write instead. */
function numberSetting(env: NodeJS.ProcessEnv, variable: string, fallback: number | undefined, rule: { valid: (n: number) => boolean; expected: string }): number | undefined {
  const raw = env[variable];
  if (!raw) return fallback;
  const n = Number(raw);
  if (!rule.valid(n)) throw badSetting(variable, `must be ${rule.expected}`);
  return n;
}

/** Reads the `OTEL_*` variables of `env` into a frozen config; throws PortcullisError CONFIG naming a bad one. */
export function tracingConfigFromEnv(env: NodeJS.ProcessEnv, defaultServiceName = 'portcullis'): TracingConfig {
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
  const exporter = exporterOf(env);
  const resourceAttributes = parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES');
  const samplerArg = numberSetting(env, 'OTEL_TRACES_SAMPLER_ARG', undefined, { valid: (n) => n >= 0 && n <= 1, expected: 'a number between 0 and 1' });
  const delay = numberSetting(env, 'OTEL_BSP_SCHEDULE_DELAY', 1000, { valid: (n) => Number.isFinite(n) && n >= 0, expected: 'a number of milliseconds ≥ 0' })!;
  const maxExportBatchSize = numberSetting(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, { valid: (n) => Number.isInteger(n) && n > 0, expected: 'a whole number > 0' })!;
  // Left unset, the queue holds at least one full batch.
  const maxQueueSize = numberSetting(env, 'OTEL_BSP_MAX_QUEUE_SIZE', Math.max(2048, maxExportBatchSize), { valid: (n) => Number.isInteger(n) && n >= maxExportBatchSize, expected: 'a whole number ≥ OTEL_BSP_MAX_EXPORT_BATCH_SIZE' })!;
  const exportTimeoutMs = numberSetting(env, env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, { valid: (n) => Number.isInteger(n) && n > 0, expected: 'a whole number of milliseconds > 0' })!;
  const shutdownTimeoutMs = numberSetting(env, 'PORTCULLIS_TRACE_SHUTDOWN_TIMEOUT_MS', 1000, { valid: (n) => Number.isInteger(n) && n >= 0, expected: 'a whole number of milliseconds ≥ 0' })!;
  return Object.freeze({
    shutdownTimeoutMs,
    exportTimeoutMs,
    enabled: !disabled && exporter !== 'none',
    exporter: exporter as TracingConfig['exporter'],
    url: tracesUrl(env),
    protocol: parseProtocol(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL),
    headers: Object.freeze({
      ...parseKeyValues(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS'),
      ...parseKeyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
    }),
    serviceName: env.OTEL_SERVICE_NAME || resourceAttributes['service.name'] || defaultServiceName,
    resourceAttributes: Object.freeze(resourceAttributes),
    sampler: (env.OTEL_TRACES_SAMPLER || 'parentbased_always_on').trim().toLowerCase(),
    samplerArg,
    scheduleDelayMs: delay,
    maxExportBatchSize,
    maxQueueSize,
  });
}

function makeSampler(name: string, arg: number | undefined): Sampler {
  const ratio = new TraceIdRatioBasedSampler(arg ?? 1);
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      throw new PortcullisError(ErrorCodes.CONFIG, `OTEL_TRACES_SAMPLER: "${name}" is not supported`, { variable: 'OTEL_TRACES_SAMPLER' });
  }
}

/** The SDK's exporters, for what the OTLP/HTTP protobuf processor (otlp-span-processor.ts) does not cover: the console, and OTLP/HTTP JSON. */
async function makeExporter(config: TracingConfig): Promise<SpanExporter> {
  if (config.exporter === 'console') return new ConsoleSpanExporter();
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return new OTLPTraceExporter({ url: config.url, headers: { ...config.headers }, timeoutMillis: config.exportTimeoutMs });
}

/** Header carriers as they come from node:http / fastify / undici. */
export type HeaderCarrier = Record<string, string | string[] | undefined>;

const getter: TextMapGetter<HeaderCarrier> = {
  keys: (c) => Object.keys(c),
  get: (c, key) => {
    const v = c[key] ?? c[key.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  },
};

export interface Tracing {
  readonly config: TracingConfig;
  readonly tracer: Tracer;
  /** The parent context carried by incoming headers (`traceparent`, `tracestate`), or the root context. */
  extract(headers: HeaderCarrier): Context;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  config: TracingConfig;
  /** Replaces the exporter the config names (tests, in-memory capture). */
  exporter?: SpanExporter;
  /** Service version for the resource. */
  serviceVersion?: string;
  /** Told what became of exported spans (OTLP/HTTP protobuf export only). */
  report?: SpanExportReport | undefined;
}

/** The span processor the config asks for, and the transport to drop at shutdown when it has one. */
async function makeProcessor(options: TracingOptions): Promise<{ processor?: SpanProcessor; transport?: OtlpTransport }> {
  const { config } = options;
  if (!options.exporter && config.enabled && config.exporter === 'otlp' && config.protocol === 'http/protobuf') {
    const transport = otlpHttpTransport({ url: config.url, headers: config.headers, timeoutMs: config.exportTimeoutMs });
    const { scheduleDelayMs, maxExportBatchSize, maxQueueSize } = config;
    return { transport, processor: new OtlpSpanProcessor({ transport, scheduleDelayMs, maxExportBatchSize, maxQueueSize, report: options.report }) };
  }
  const exporter = options.exporter ?? (config.enabled ? await makeExporter(config) : undefined);
  if (!exporter) return {};
  if (config.scheduleDelayMs === 0 || config.exporter === 'console') return { processor: new SimpleSpanProcessor(exporter) };
  const { scheduleDelayMs, maxExportBatchSize, maxQueueSize } = config;
  return { processor: new BatchSpanProcessor(exporter, { scheduledDelayMillis: scheduleDelayMs, maxExportBatchSize, maxQueueSize }) };
}

/**
 * Builds the tracer provider. Its spans are exported only when tracing is
 * enabled; the sidecar makes none when it is not (its calls keep or make a
 * trace ID without them: src/sidecar/call-trace.ts).
 */
export async function createTracing(options: TracingOptions): Promise<Tracing> {
  const { config } = options;
  const { processor, transport } = await makeProcessor(options);
  const provider = new BasicTracerProvider({
    // The SDK's default resource carries telemetry.sdk.{name,language,version},
    // which every SDK must report (Jaeger lists them among the process tags).
    resource: defaultResource().merge(
      resourceFromAttributes({
        ...config.resourceAttributes,
        'service.name': config.serviceName,
        ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
      }),
    ),
    sampler: makeSampler(config.sampler, config.samplerArg),
    spanProcessors: processor ? [processor] : [],
  });
  const propagator = new W3CTraceContextPropagator();
  return {
    config,
    tracer: provider.getTracer('portcullis', options.serviceVersion),
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, getter),
    forceFlush: () => provider.forceFlush(),
    // The exporter retries an absent collector for up to its own timeout
    // (about 8 s): stopping must not wait for that.
    shutdown: () => withDeadline(provider.shutdown(), config.shutdownTimeoutMs).finally(() => transport?.destroy()),
  };
}

/** Resolves when `work` settles or after `ms`, whichever is first; the timer holds no process open. */
async function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([work.catch(() => undefined), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The trace ID of the span in `ctx`, or undefined. */
export function traceIdOf(ctx: Context): string | undefined {
  return trace.getSpanContext(ctx)?.traceId;
}
