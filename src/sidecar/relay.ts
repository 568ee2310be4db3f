/**
 * Relays an upstream response to the agent under the decision's constraints:
 * maximum response bytes, headers removed, JSON fields redacted (in plain
 * JSON bodies and in each `data:` event of an SSE stream), and for MCP
 * batches the JSON-RPC errors of the denied calls merged in. The body
 * streams through unless it must be rewritten. The output hash is taken over
 * the bytes the agent receives (docs/evidence.md): a hash of the upstream's
 * body before redaction would vouch for the very secrets redaction removed.
 * When the gate changed the body, the upstream's hash is kept beside it as
 * `upstreamOutputHash`.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Constraints } from '../gate/types.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { OutputHasher, sha256 } from '../evidence/hash.ts';
import { HOP_BY_HOP } from '../gate/headers.ts';
import { isJsonContentType } from '../gate/http-action.ts';
import { redactFields } from '../gate/redact-json.ts';
import type { UpstreamResponse } from './upstream.ts';
import type { FinishInfo } from './decider.ts';

export interface RelayPlan {
  constraints: Constraints;
  /** JSON-RPC messages (errors of denied calls) the agent must also receive. */
  extraMessages?: unknown[];
  /** MCP: redaction paths apply to each JSON-RPC message, not to the whole body. */
  jsonRpc?: boolean;
  /** Cap on a body that must be buffered to be rewritten. */
  bufferLimitBytes: number;
  /**
   * SSE only: each line of the stream is passed through this before it goes
   * on (in order: the stream waits for the answer), which answers the line
   * to send in its place, or null to drop it. MCP uses it to decide what the
   * server asks of the client (sampling, elicitation, roots) as it passes.
   */
  screenLine?: (line: string) => Promise<string | null>;
  /**
   * JSON bodies: each JSON-RPC message is passed through this (after
   * `rewriteMessage`), which answers the message to send in its place. Set
   * only when needed: it makes the body be buffered.
   */
  screenMessage?: (message: unknown) => Promise<unknown>;
  /**
   * Applied to each JSON-RPC message of the response (a JSON body, or each
   * `data:` event of an SSE stream) before redaction: MCP uses it to remove
   * hidden tools from `tools/list` results.
   */
  rewriteMessage?: (message: unknown) => unknown;
}

/**
 * An error raised while relaying a response whose decision is already
 * recorded and finished (a cap passed, a stream cut): the app's error handler
 * answers it without recording a second decision.
 */
export class RelayCutError extends PortcullisError {}

export function isRelayError(e: unknown): boolean {
  return e instanceof RelayCutError;
}

/** Bodies up to this size (with a Content-Length) are relayed in one piece. */
const SMALL_BODY_BYTES = 64 * 1024;

function isSse(contentType: unknown): boolean {
  return typeof contentType === 'string' && contentType.toLowerCase().startsWith('text/event-stream');
}

function responseHeaders(headers: UpstreamResponse['headers'], strip: readonly string[] = []): Record<string, string | string[]> {
  const drop = strip.length > 0 ? new Set(strip) : undefined;
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || drop?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

function redactJson(value: unknown, paths: readonly string[], jsonRpc: boolean): void {
  if (paths.length === 0) return;
  if (jsonRpc && Array.isArray(value)) for (const m of value) redactFields(m, paths);
  else redactFields(value, paths);
}

/** Counts, hashes, caps, and (for SSE) rewrites `data:` lines as they pass. */
class MeteredStream extends Transform {
  /** Over what the agent receives. */
  readonly hasher = new OutputHasher();
  /** Over what the upstream sent, when that can differ (events rewritten or merged in). */
  readonly upstreamHasher: OutputHasher | undefined;
  sent = 0;
  #pending = '';
  readonly #max: number;
  readonly #rewriteLine: ((line: string) => string) | undefined;
  readonly #screenLine: ((line: string) => Promise<string | null>) | undefined;

  constructor(max: number, prefix: string, rewriteLine?: (line: string) => string, screenLine?: (line: string) => Promise<string | null>) {
    super();
    this.#max = max;
    this.#rewriteLine = rewriteLine;
    this.#screenLine = screenLine;
    this.upstreamHasher = rewriteLine || screenLine || prefix ? new OutputHasher() : undefined;
    if (prefix) this.#emit(prefix);
  }

  #emit(chunk: Buffer | string): void {
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    this.sent += size;
    if (this.sent > this.#max) {
      this.destroy(new RelayCutError(ErrorCodes.RESPONSE_TOO_LARGE, `the response exceeded the ${this.#max}-byte limit and was cut off`));
      return;
    }
    this.hasher.update(chunk);
    this.push(chunk);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.upstreamHasher?.update(chunk);
    if (!this.#rewriteLine && !this.#screenLine) {
      this.#emit(chunk);
      return cb();
    }
    this.#pending += chunk.toString('utf8');
    const lines = this.#pending.split('\n');
    this.#pending = lines.pop()!;
    if (lines.length === 0) return cb();
    if (this.#screenLine) return void this.#screened(lines, '\n', cb);
    const rewrite = this.#rewriteLine!;
    this.#rewritten(() => lines.map(rewrite).join('\n') + '\n', cb);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.#pending) return cb();
    if (this.#screenLine) return void this.#screened([this.#pending], '', cb);
    const rewrite = this.#rewriteLine;
    if (rewrite) this.#rewritten(() => rewrite(this.#pending), cb);
    else cb();
  }

  /** Lines the screen keeps go on (rewritten when a rewrite is set); the stream waits for each answer in turn. */
  async #screened(lines: string[], end: string, cb: TransformCallback): Promise<void> {
    const kept: string[] = [];
    try {
      for (const line of lines) {
        const out = await this.#screenLine!(line);
        if (out !== null) kept.push(out);
      }
    } catch (e) {
      return cb(new RelayCutError(ErrorCodes.UPSTREAM, `a message of the upstream's stream could not be decided and the stream was cut off: ${(e as Error)?.message ?? String(e)}`));
    }
    if (kept.length === 0) return cb();
    const rewrite = this.#rewriteLine;
    this.#rewritten(() => (rewrite ? kept.map(rewrite) : kept).join('\n') + end, cb);
  }

  /**
   * An exception thrown here would escape the stream into the event loop and
   * end the process: any failure to rewrite (an event too deeply nested to
   * serialise, say) ends this response instead, without passing the line on
   * unredacted.
   */
  #rewritten(make: () => string, cb: TransformCallback): void {
    let text: string;
    try {
      text = make();
    } catch (e) {
      return cb(new RelayCutError(ErrorCodes.UPSTREAM, `an event of the upstream's stream could not be redacted and the stream was cut off: ${(e as Error)?.message ?? String(e)}`));
    }
    this.#emit(text);
    cb();
  }
}

function rewriteEach(value: unknown, rewrite: ((message: unknown) => unknown) | undefined): unknown {
  if (!rewrite) return value;
  return Array.isArray(value) ? value.map(rewrite) : rewrite(value);
}

function sseRedactor(paths: readonly string[], rewrite?: (message: unknown) => unknown): (line: string) => string {
  return (line) => {
    if (!line.startsWith('data:')) return line;
    const text = line.slice(5).replace(/\r$/, '');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return line;
    }
    value = rewriteEach(value, rewrite);
    redactJson(value, paths, true);
    return 'data: ' + JSON.stringify(value);
  };
}

function sseEvents(messages: unknown[]): string {
  return messages.map((m) => `event: message\ndata: ${JSON.stringify(m)}\n\n`).join('');
}

function tooLarge(max: number): PortcullisError {
  return new PortcullisError(ErrorCodes.RESPONSE_TOO_LARGE, `the response is larger than the ${max}-byte limit set by the policy`);
}

async function readAll(body: UpstreamResponse['body'], cap: number, hasher: OutputHasher): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    hasher.update(chunk as Buffer);
    if (hasher.bytes > cap) {
      body.destroy();
      throw tooLarge(cap);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A body of declared length, whole. undici gathers the chunks itself, which
 * costs less than iterating the stream; the parser stops at the declared
 * length, so the cap only guards against a length that was not checked.
 */
async function readDeclared(body: UpstreamResponse['body'], cap: number): Promise<Buffer> {
  const bytes = await body.bytes();
  if (bytes.byteLength > cap) throw tooLarge(cap);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One response being relayed: what the upstream sent, what the plan asks, the headers to send. */
interface Relaying {
  reply: FastifyReply;
  res: UpstreamResponse;
  plan: RelayPlan;
  headers: Record<string, string | string[]>;
  /** The policy's response-size limit (Infinity when none). */
  max: number;
}

/** The JSON body with the plan's changes: messages rewritten and screened, fields redacted, extra messages merged. */
async function changedJson(value: unknown, plan: RelayPlan): Promise<unknown> {
  if (value !== undefined) value = await screened(rewriteEach(value, plan.rewriteMessage), plan.screenMessage);
  redactJson(value, plan.constraints.redact ?? [], plan.jsonRpc ?? false);
  return merged(value, plan.extraMessages ?? []);
}

async function screened(value: unknown, screen: RelayPlan['screenMessage']): Promise<unknown> {
  if (!screen) return value;
  return Array.isArray(value) ? Promise.all(value.map(screen)) : screen(value);
}

/** The body with the gate's own messages after it (a batch answer): the body alone when there are none. */
function merged(value: unknown, extra: unknown[]): unknown {
  if (extra.length === 0) return value;
  const own = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return [...own, ...extra];
}

function parsedJson(raw: Buffer): unknown {
  try {
    return raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch {
    throw new PortcullisError(ErrorCodes.UPSTREAM, 'the upstream response is not valid JSON, so the fields the policy redacts cannot be removed');
  }
}

/** Buffers a JSON body, redacts it and merges extra JSON-RPC messages. */
async function relayRewrittenJson(r: Relaying): Promise<FinishInfo> {
  const { reply, res, plan, headers } = r;
  const hasher = new OutputHasher();
  const raw = await readAll(res.body, Math.min(r.max, plan.bufferLimitBytes), hasher);
  const text = JSON.stringify((await changedJson(parsedJson(raw), plan)) ?? null);
  delete headers['content-length'];
  delete headers['etag'];
  // Notifications alone get 202 with no body; merged errors need a JSON body.
  const status = res.statusCode === 202 && plan.extraMessages?.length ? 200 : res.statusCode;
  headers['content-type'] = 'application/json';
  await reply.code(status).headers(headers).send(text);
  return { status, bytes: Buffer.byteLength(text), outputHash: sha256(text), upstreamOutputHash: hasher.digest() };
}

/** What the plan asks of a response's body: `whole` JSON changes need it buffered; `stream` changes apply line by line. */
function changesOf(res: UpstreamResponse, plan: RelayPlan): { whole: boolean; stream: boolean; sse: boolean } {
  const contentType = res.headers['content-type'];
  const sse = isSse(contentType);
  const json = isJsonContentType(contentType);
  checkRedactable(res, plan, sse || json);
  // A message rewrite applies to JSON only: any other body is not a JSON-RPC answer to rewrite.
  const rewrite = plan.rewriteMessage !== undefined && (sse || json);
  const stream = redacts(plan) || merges(plan) || rewrite;
  const screensJson = plan.screenMessage !== undefined && json;
  return { whole: !sse && (stream || screensJson), stream, sse };
}

function redacts(plan: RelayPlan): boolean {
  return (plan.constraints.redact ?? []).length > 0;
}

function merges(plan: RelayPlan): boolean {
  return (plan.extraMessages ?? []).length > 0;
}

/** Fields can be redacted from JSON (or SSE events) only: any other body is refused rather than passed on unredacted. */
function checkRedactable(res: UpstreamResponse, plan: RelayPlan, jsonOrSse: boolean): void {
  if (jsonOrSse || !redacts(plan)) return;
  res.body.destroy();
  throw new PortcullisError(ErrorCodes.UPSTREAM, `the upstream answered ${String(res.headers['content-type'])}, not JSON, so the fields the policy redacts cannot be removed`);
}

/** A small body of known length is read whole and sent in one write with the headers: fewer syscalls than piping a stream. */
function sentWhole(r: Relaying, declared: number): boolean {
  const status = r.res.statusCode;
  return Number.isFinite(declared) && declared <= SMALL_BODY_BYTES && r.reply.request.method !== 'HEAD' && status !== 204 && status !== 304;
}

async function relaySmall(r: Relaying): Promise<FinishInfo> {
  const body = await readDeclared(r.res.body, Math.min(r.max, SMALL_BODY_BYTES));
  await r.reply.code(r.res.statusCode).headers(r.headers).send(body);
  // The whole body is at hand: hashed in one call, without a hash object.
  return { status: r.res.statusCode, bytes: body.length, outputHash: sha256(body) };
}

/** Resolves with what the agent received once the stream ended, was cut off, or the agent went away. */
function streamEnded(r: Relaying, metered: MeteredStream): Promise<FinishInfo> {
  return new Promise<FinishInfo>((resolve) => {
    let settled = false;
    const finish = (errorCode?: string): void => {
      if (settled) return;
      settled = true;
      resolve({ status: r.res.statusCode, bytes: metered.sent, ...(errorCode ? { errorCode } : streamHashes(metered)) });
    };
    metered.once('error', (e) => finish((e as PortcullisError).code ?? ErrorCodes.UPSTREAM));
    r.reply.raw.once('finish', () => finish());
    r.reply.raw.once('close', () => {
      if (r.reply.raw.writableFinished) return finish();
      // The agent went away mid-stream (an SSE client closing): stop reading the upstream too.
      r.res.body.destroy();
      metered.destroy();
      finish(ErrorCodes.UPSTREAM);
    });
  });
}

/** The upstream's hash is kept only when the gate changed what passed (a screened stream usually passes whole). */
function streamHashes(metered: MeteredStream): Pick<FinishInfo, 'outputHash' | 'upstreamOutputHash'> {
  const outputHash = metered.hasher.digest();
  const upstreamHash = metered.upstreamHasher?.digest();
  return upstreamHash !== undefined && upstreamHash !== outputHash ? { outputHash, upstreamOutputHash: upstreamHash } : { outputHash };
}

async function relayStream(r: Relaying, changes: { stream: boolean; sse: boolean }): Promise<FinishInfo> {
  const { plan, res } = r;
  const redact = plan.constraints.redact ?? [];
  const rewrite = changes.sse && (redact.length > 0 || plan.rewriteMessage) ? sseRedactor(redact, plan.rewriteMessage) : undefined;
  const metered = new MeteredStream(r.max, changes.sse ? sseEvents(plan.extraMessages ?? []) : '', rewrite, changes.sse ? plan.screenLine : undefined);
  if (changes.sse || changes.stream) delete r.headers['content-length'];
  const done = streamEnded(r, metered);
  res.body.once('error', (e) => {
    metered.destroy(new RelayCutError(ErrorCodes.UPSTREAM, `the upstream's response broke off: ${e.message}`, undefined, { cause: e }));
  });
  res.body.pipe(metered);
  await r.reply.code(res.statusCode).headers(r.headers).send(metered);
  return done;
}

/** Sends the upstream response; resolves when the agent has it (or it failed). Throws before any byte is sent. */
export async function relayResponse(reply: FastifyReply, res: UpstreamResponse, plan: RelayPlan): Promise<FinishInfo> {
  const r: Relaying = { reply, res, plan, headers: responseHeaders(res.headers, plan.constraints.stripHeaders), max: plan.constraints.maxResponseBytes ?? Number.POSITIVE_INFINITY };
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > r.max) {
    res.body.destroy();
    throw tooLarge(r.max);
  }
  const changes = changesOf(res, plan);
  if (changes.whole) return relayRewrittenJson(r);
  if (!changes.sse && sentWhole(r, declared)) return relaySmall(r);
  return relayStream(r, changes);
}
