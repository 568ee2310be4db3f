// A real OTLP/HTTP trace receiver on loopback: accepts POST /v1/traces in
// protobuf or JSON, decodes it, and hands the spans to the test flattened.
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  status: { code: number; message?: string };
  /** How it arrived. */
  encoding: 'protobuf' | 'json';
}

type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number | { toNumber(): number }; doubleValue?: number };
type KeyValue = { key: string; value?: AnyValue };

function plain(attrs: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attrs ?? []) {
    if (!value) continue;
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value.intValue !== undefined) out[key] = typeof value.intValue === 'object' ? value.intValue.toNumber() : Number(value.intValue);
  }
  return out;
}

const hex = (v: unknown): string => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'string' ? v : '');

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly requests: { contentType: string; path: string }[] = [];
  #server: Server | undefined;
  #waiters: Array<() => void> = [];
  readonly #type = protobuf.parse(readFileSync(join(import.meta.dirname, 'otlp-trace.proto'), 'utf8')).root.lookupType('otlp.ExportTraceServiceRequest');

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const contentType = String(req.headers['content-type'] ?? '');
        this.requests.push({ contentType, path: req.url ?? '' });
        try {
          this.#accept(Buffer.concat(chunks), contentType);
          res.writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf' });
          res.end(contentType.includes('json') ? '{}' : undefined);
        } catch (e) {
          res.writeHead(400).end(String(e));
        }
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #accept(body: Buffer, contentType: string): void {
    const json = contentType.includes('json');
    const msg = json ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : (this.#type.toObject(this.#type.decode(body), { longs: Number, bytes: Uint8Array }) as Record<string, unknown>);
    type Rs = { resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> };
    for (const rs of (msg.resourceSpans as Rs[] | undefined) ?? []) {
      const resource = plain(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: hex(s.parentSpanId),
            name: String(s.name),
            kind: Number(s.kind ?? 0),
            attributes: plain(s.attributes as KeyValue[]),
            resource,
            status: { code: Number((s.status as { code?: number } | undefined)?.code ?? 0), ...((s.status as { message?: string })?.message ? { message: (s.status as { message: string }).message } : {}) },
            encoding: json ? 'json' : 'protobuf',
          });
        }
      }
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once `pred` holds over the spans received, or rejects after `ms`. */
  async waitFor(pred: (spans: ReceivedSpan[]) => boolean, ms = 10_000): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + ms;
    while (!pred(this.spans)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`spans not received in time; got: ${this.spans.map((s) => s.name).join(', ') || 'none'}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.spans;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
