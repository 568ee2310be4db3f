/**
 * OTLP trace messages in protobuf's wire format, written straight from
 * finished spans (opentelemetry-proto, `trace/v1/trace.proto`,
 * `common/v1/common.proto`, `resource/v1/resource.proto`). Pure: bytes in,
 * bytes out.
 *
 * Each span is encoded once, when it ends, into the batch it will be sent in
 * (`SpanBatch`), so a batch waiting for export is a few compact buffers rather
 * than hundreds of span objects, and sending it costs no encoding pause.
 * Attribute keys repeat in every span: their encoded form is kept.
 */
import { SpanKind, type AttributeValue, type Attributes, type HrTime, type Link, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** `Span.attributes`: the field whose string pairs are kept (KeyCache). */
const SPAN_ATTRIBUTES = 9;

/** Span flags (trace.proto `SpanFlags`): the W3C flags in the low byte, and whether the parent was remote. */
const FLAGS_HAS_IS_REMOTE = 0x100;
const FLAGS_IS_REMOTE = 0x200;

/** A growing buffer that protobuf fields are appended to. */
export class ProtoWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialBytes = 1024) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.#pos;
  }

  /** A copy of what was written. */
  bytes(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }

  /** What was written, without a copy: valid until the next write or reset. */
  view(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Forgets what was written, keeping the buffer. */
  reset(): void {
    this.#pos = 0;
  }

  /** Forgets what was written after the first `length` bytes. */
  truncate(length: number): void {
    this.#pos = Math.min(this.#pos, length);
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }

  /** A non-negative integer below 2^53. */
  varint(n: number): void {
    this.#room(10);
    this.#pos = this.#varintAt(this.#pos, n);
  }

  /** Writes `n` as a varint at `at` (room already made); returns where it ends. */
  #varintAt(at: number, n: number): number {
    while (n > 0x7f) {
      this.#buf[at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[at++] = n;
    return at;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  raw(bytes: Uint8Array): void {
    this.#room(bytes.byteLength);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.byteLength;
  }

  string(field: number, s: string): void {
    this.#text(field, s, Buffer.byteLength(s, 'utf8'), 'utf8');
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_LENGTH);
    this.varint(bytes.byteLength);
    this.raw(bytes);
  }

  /** Hex text (an ID) as bytes. */
  hexField(field: number, hex: string): void {
    this.#text(field, hex, hex.length >>> 1, 'hex');
  }

  /** A length-delimited field of `n` bytes, written from text in `encoding`. */
  #text(field: number, text: string, n: number, encoding: 'utf8' | 'hex'): void {
    this.tag(field, WIRE_LENGTH);
    this.varint(n);
    this.#room(n);
    this.#pos += this.#buf.write(text, this.#pos, n, encoding);
  }

  uint(field: number, n: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(n);
  }

  /** int64 as a varint: a negative value takes ten bytes (two's complement). */
  int64(field: number, n: number): void {
    if (n >= 0 && Number.isSafeInteger(n)) return this.uint(field, n);
    this.tag(field, WIRE_VARINT);
    let v = BigInt.asUintN(64, BigInt(n));
    this.#room(10);
    while (v > 0x7fn) {
      this.#buf[this.#pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#pos++] = Number(v);
  }

  double(field: number, n: number): void {
    this.tag(field, WIRE_FIXED64);
    this.#room(8);
    this.#pos = this.#buf.writeDoubleLE(n, this.#pos);
  }

  fixed32(field: number, n: number): void {
    this.tag(field, WIRE_FIXED32);
    this.#room(4);
    this.#pos = this.#buf.writeUInt32LE(n >>> 0, this.#pos);
  }

  /** Nanoseconds since the epoch of an HrTime, as fixed64. */
  time(field: number, t: HrTime): void {
    this.tag(field, WIRE_FIXED64);
    this.#room(8);
    this.#pos = this.#buf.writeBigUInt64LE(BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]), this.#pos);
  }

  /** Opens a length-delimited field; close it with `end` once its content is written. */
  begin(field: number): number {
    this.tag(field, WIRE_LENGTH);
    this.#room(1);
    // One byte is kept for the length; `end` makes room when it needs more.
    return this.#pos++;
  }

  end(mark: number): void {
    const start = mark + 1;
    const n = this.#pos - start;
    const extra = varintLength(n) - 1;
    if (extra > 0) {
      this.#room(extra);
      this.#buf.copyWithin(start + extra, start, this.#pos);
      this.#pos += extra;
    }
    this.#varintAt(mark, n);
  }
}

function varintLength(n: number): number {
  let len = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/** What is kept of one attribute key: its encoded `KeyValue.key`, and whole span attributes by string value while the key has few values. */
interface KeptKey {
  key: Buffer;
  /** Encoded span attributes (`KeyValue` as field 9) by value; null once the key has shown too many values to be worth keeping. */
  values: Map<string, Buffer> | null;
}

/**
 * Encodings kept across spans: the same few keys are in every span, and many
 * of their values repeat too (mode, effect, bundle, policy digest, tool): a
 * repeated pair is one copy. A key with more than `valuesPerKey` values (a
 * hash, an ID) keeps only its key.
 */
export class KeyCache {
  readonly #keys = new Map<string, KeptKey>();
  readonly #limit: number;
  readonly #valuesPerKey: number;

  constructor(limit = 512, valuesPerKey = 16) {
    this.#limit = limit;
    this.#valuesPerKey = valuesPerKey;
  }

  #kept(k: string): KeptKey {
    let kept = this.#keys.get(k);
    if (kept) return kept;
    const w = new ProtoWriter(k.length + 8);
    w.string(1, k);
    kept = { key: w.bytes(), values: new Map() };
    if (this.#keys.size < this.#limit) this.#keys.set(k, kept);
    return kept;
  }

  key(k: string): Buffer {
    return this.#kept(k).key;
  }

  /** The span attribute `k` = `v` as encoded before, if it is kept. */
  spanAttribute(k: string, v: string): Buffer | undefined {
    return this.#keys.get(k)?.values?.get(v);
  }

  /** Keeps the encoding of span attribute `k` = `v` (copied), unless the key has too many values. */
  keepSpanAttribute(k: string, v: string, encoded: Buffer): void {
    const kept = this.#keys.get(k);
    if (!kept?.values) return;
    if (kept.values.size >= this.#valuesPerKey) kept.values = null;
    else kept.values.set(v, Buffer.from(encoded));
  }
}

/** AnyValue (common.proto): string 1, bool 2, int 3, double 4, array 5, bytes 7. */
function writeAnyValue(w: ProtoWriter, v: AttributeValue | null | undefined): void {
  if (typeof v === 'string') w.string(1, v);
  else if (typeof v === 'boolean') w.uint(2, v ? 1 : 0);
  else if (typeof v === 'number') {
    if (Number.isInteger(v)) w.int64(3, v);
    else w.double(4, v);
  } else if (v instanceof Uint8Array) w.bytesField(7, v);
  else if (Array.isArray(v)) {
    const array = w.begin(5);
    for (const item of v as Array<AttributeValue | null | undefined>) {
      const value = w.begin(1);
      writeAnyValue(w, item);
      w.end(value);
    }
    w.end(array);
  }
}

/** One KeyValue as field `field`; `key` is its encoded key field (KeyCache.key). */
function writeKeyValue(w: ProtoWriter, field: number, key: Buffer, v: AttributeValue): void {
  const kv = w.begin(field);
  w.raw(key);
  const value = w.begin(2);
  writeAnyValue(w, v);
  w.end(value);
  w.end(kv);
}

/** Repeated KeyValue in field `field`; undefined values are left out, as the SDK does. */
export function writeAttributes(w: ProtoWriter, field: number, attributes: Attributes, keys: KeyCache): void {
  for (const k in attributes) {
    const v = attributes[k];
    if (v === undefined) continue;
    if (field !== SPAN_ATTRIBUTES || typeof v !== 'string') {
      writeKeyValue(w, field, keys.key(k), v);
      continue;
    }
    const known = keys.spanAttribute(k, v);
    if (known) {
      w.raw(known);
      continue;
    }
    const start = w.length;
    writeKeyValue(w, field, keys.key(k), v);
    keys.keepSpanAttribute(k, v, w.view().subarray(start));
  }
}

function spanFlags(ctx: SpanContext, parentRemote: boolean | undefined): number {
  return (ctx.traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (parentRemote ? FLAGS_IS_REMOTE : 0);
}

function writeEvent(w: ProtoWriter, e: TimedEvent, keys: KeyCache): void {
  const m = w.begin(11);
  w.time(1, e.time);
  w.string(2, e.name);
  if (e.attributes) writeAttributes(w, 3, e.attributes, keys);
  count(w, 4, e.droppedAttributesCount);
  w.end(m);
}

function writeLink(w: ProtoWriter, l: Link, keys: KeyCache): void {
  const m = w.begin(13);
  w.hexField(1, l.context.traceId);
  w.hexField(2, l.context.spanId);
  const state = l.context.traceState?.serialize();
  if (state) w.string(3, state);
  if (l.attributes) writeAttributes(w, 4, l.attributes, keys);
  count(w, 5, l.droppedAttributesCount);
  w.fixed32(6, spanFlags(l.context, l.context.isRemote));
  w.end(m);
}

/** The API's span kinds are one less than the proto's (which has UNSPECIFIED = 0). */
function protoKind(kind: SpanKind): number {
  return kind + 1;
}

/** A non-zero count field; zero is the default and is left out. */
function count(w: ProtoWriter, field: number, n: number | undefined): void {
  if (n) w.uint(field, n);
}

/** Always written, code included, as the SDK's own serialiser writes it: both encode the same message. */
function writeStatus(w: ProtoWriter, status: ReadableSpan['status']): void {
  const m = w.begin(15);
  if (status.message) w.string(2, status.message);
  w.uint(3, status.code);
  w.end(m);
}

/** One `Span` message (trace.proto) as field `field` of the message being written. */
export function writeSpan(w: ProtoWriter, field: number, span: ReadableSpan, keys: KeyCache): void {
  const m = w.begin(field);
  const ctx = span.spanContext();
  w.hexField(1, ctx.traceId);
  w.hexField(2, ctx.spanId);
  const state = ctx.traceState?.serialize();
  if (state) w.string(3, state);
  const parent = span.parentSpanContext;
  if (parent?.spanId) w.hexField(4, parent.spanId);
  w.string(5, span.name);
  w.uint(6, protoKind(span.kind));
  w.time(7, span.startTime);
  w.time(8, span.endTime);
  writeAttributes(w, SPAN_ATTRIBUTES, span.attributes, keys);
  count(w, 10, span.droppedAttributesCount);
  for (const e of span.events) writeEvent(w, e, keys);
  count(w, 12, span.droppedEventsCount);
  for (const l of span.links) writeLink(w, l, keys);
  count(w, 14, span.droppedLinksCount);
  writeStatus(w, span.status);
  w.fixed32(16, spanFlags(ctx, parent?.isRemote));
  w.end(m);
}

/** What a batch of spans is sent under: the resource and the instrumentation scope. */
export interface SpanOrigin {
  resource: { attributes: Attributes; schemaUrl?: string | undefined };
  scope: { name: string; version?: string | undefined; schemaUrl?: string | undefined };
}

/**
 * The start of an `ExportTraceServiceRequest` up to its spans: everything but
 * the spans' bytes and the lengths that depend on them.
 */
function originParts(origin: SpanOrigin, keys: KeyCache): { resource: Buffer; scope: Buffer; resourceSchema: Buffer; scopeSchema: Buffer } {
  const r = new ProtoWriter();
  const resource = r.begin(1);
  writeAttributes(r, 1, origin.resource.attributes, keys);
  r.end(resource);
  const s = new ProtoWriter();
  const scope = s.begin(1);
  s.string(1, origin.scope.name);
  if (origin.scope.version) s.string(2, origin.scope.version);
  s.end(scope);
  const rs = new ProtoWriter(64);
  if (origin.resource.schemaUrl) rs.string(3, origin.resource.schemaUrl);
  const ss = new ProtoWriter(64);
  if (origin.scope.schemaUrl) ss.string(3, origin.scope.schemaUrl);
  return { resource: r.bytes(), scope: s.bytes(), resourceSchema: rs.bytes(), scopeSchema: ss.bytes() };
}

function lengthPrefix(field: number, n: number): Buffer {
  const w = new ProtoWriter(16);
  w.tag(field, WIRE_LENGTH);
  w.varint(n);
  return w.bytes();
}

/**
 * Spans of one origin, encoded as they end; `request()` wraps them into one
 * `ExportTraceServiceRequest` (collector/trace/v1/trace_service.proto).
 */
export class SpanBatch {
  readonly #spans = new ProtoWriter(16 * 1024);
  readonly #keys: KeyCache;
  readonly #origin: ReturnType<typeof originParts>;
  #count = 0;

  constructor(origin: SpanOrigin, keys: KeyCache) {
    this.#keys = keys;
    this.#origin = originParts(origin, keys);
  }

  get count(): number {
    return this.#count;
  }

  /** Encodes a span into the batch; one that cannot be encoded throws and leaves the batch as it was. */
  add(span: ReadableSpan): void {
    const before = this.#spans.length;
    try {
      writeSpan(this.#spans, 2, span, this.#keys);
    } catch (e) {
      this.#spans.truncate(before);
      throw e;
    }
    this.#count++;
  }

  /** The request carrying every span added since the last call; the batch is empty after it. */
  request(): Buffer {
    const o = this.#origin;
    const spans = this.#spans.view();
    const scopeSpans = o.scope.length + spans.length + o.scopeSchema.length;
    const scopeHead = lengthPrefix(2, scopeSpans);
    const resourceSpans = o.resource.length + scopeHead.length + scopeSpans + o.resourceSchema.length;
    const request = Buffer.concat([lengthPrefix(1, resourceSpans), o.resource, scopeHead, o.scope, spans, o.scopeSchema, o.resourceSchema]);
    this.#spans.reset();
    this.#count = 0;
    return request;
  }
}
