/**
 * The span of one decision, following the OpenTelemetry GenAI conventions for
 * tool execution (`execute_tool {gen_ai.tool.name}`, `gen_ai.operation.name =
 * execute_tool`, `gen_ai.tool.name`, `gen_ai.tool.call.id`) and, for MCP, the
 * MCP conventions (`tools/call {gen_ai.tool.name}` or the method alone,
 * `mcp.method.name`, `mcp.protocol.version`, `mcp.session.id`,
 * `jsonrpc.request.id`), with Portcullis attributes for what an auditor needs
 * to join a span to its ledger entry.
 * Children: `portcullis.policy.evaluate` for the engine and a client span for
 * the upstream call, whose context is what goes upstream in `traceparent`.
 *
 * The span and its children are timed on one clock of their own: the wall
 * clock read once when the decision starts, plus the monotonic time since.
 * The wall clock alone moves in whole milliseconds, so a child placed from a
 * measured duration (the evaluation) could start before its parent, and
 * trace viewers then show it outside the decision (Jaeger flags it for
 * clock skew).
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { EnforcedEffect } from '../evidence/recorder.ts';
import type { Effect, Mode } from '../gate/types.ts';
import type { Tracing } from './tracing.ts';

/** Attribute names, so tests and dashboards use the same strings. */
export const Attr = {
  OPERATION: 'gen_ai.operation.name',
  TOOL_NAME: 'gen_ai.tool.name',
  TOOL_CALL_ID: 'gen_ai.tool.call.id',
  TOOL_TYPE: 'gen_ai.tool.type',
  MCP_METHOD: 'mcp.method.name',
  MCP_PROTOCOL_VERSION: 'mcp.protocol.version',
  MCP_SESSION_ID: 'mcp.session.id',
  MCP_SERVER: 'portcullis.mcp.server',
  JSONRPC_ID: 'jsonrpc.request.id',
  ERROR_TYPE: 'error.type',
  EFFECT: 'portcullis.effect',
  ENFORCED_EFFECT: 'portcullis.enforced_effect',
  REASON: 'portcullis.reason',
  POLICY_DIGEST: 'portcullis.policy.digest',
  INPUT_HASH: 'portcullis.input.hash',
  OUTPUT_HASH: 'portcullis.output.hash',
  OUTPUT_BYTES: 'portcullis.output.bytes',
  MODE: 'portcullis.mode',
  BUNDLE: 'portcullis.bundle',
  ENTRYPOINT: 'portcullis.policy.entrypoint',
  DECISION_ID: 'portcullis.decision.id',
  ACTION_TYPE: 'portcullis.action.type',
  LEDGER_SEQ: 'portcullis.ledger.seq',
  LEDGER_HASH: 'portcullis.ledger.hash',
} as const;

export interface DecisionSpanStart {
  /** Context extracted from the agent's request (`tracing.extract(headers)`). */
  parent: Context;
  toolName: string;
  actionType: 'http' | 'mcp' | 'connect';
  mode: Mode;
  /** MCP JSON-RPC id or another call identifier. */
  toolCallId?: string | number | null;
  /** MCP method, e.g. `tools/call`. */
  mcpMethod?: string;
  /** MCP: the catalog server, the protocol revision and the session, when known. */
  mcpServer?: string;
  mcpProtocolVersion?: string;
  mcpSessionId?: string;
  decisionId?: string;
  startTime?: number;
}

export interface DecisionAttributes {
  effect: Effect;
  enforcedEffect: EnforcedEffect;
  reason: string;
  policyDigest: string;
  bundle: string;
  entrypoint: string;
  inputHash: string;
  /**
   * Time spent in the engine. When the caller did not wrap the evaluation in
   * `startEvaluation()`, `recordDecision` adds the evaluation child span
   * itself, ending when the decision was made and lasting this long (or, without it, covering the
   * whole decision from the span's start).
   */
  evaluationMs?: number;
}

/** A child span, ended on the decision span's clock. */
export interface ChildSpan {
  span: Span;
  end(): void;
}

export interface UpstreamSpan extends ChildSpan {
  /** The W3C `traceparent` naming the client span: what the upstream request carries. */
  readonly traceparent: string;
  /**
   * Ends the client span with the upstream's status (0: no response arrived,
   * and then no status is claimed) and, when the call failed, the error code,
   * which also marks the span failed.
   */
  finish(status: number, errorCode?: string): void;
}

/**
 * `execute_tool {tool}` for HTTP calls and tunnels (GenAI tool execution);
 * for MCP the MCP conventions' `{mcp.method.name} {target}`: `tools/call
 * {gen_ai.tool.name}`, and the method alone where there is no tool.
 */
export function decisionSpanName(start: Pick<DecisionSpanStart, 'actionType' | 'toolName' | 'mcpMethod'>): string {
  if (start.actionType !== 'mcp' || !start.mcpMethod) return `execute_tool ${start.toolName}`;
  return start.mcpMethod === 'tools/call' ? `tools/call ${start.toolName}` : start.mcpMethod;
}

/** The decision span's attributes at its start (GenAI tool execution; MCP's own where the call is MCP). */
function decisionAttributes(start: DecisionSpanStart): Attributes {
  const attributes: Attributes = { [Attr.MODE]: start.mode, [Attr.ACTION_TYPE]: start.actionType };
  const mcp = start.actionType === 'mcp';
  const executesTool = !mcp || start.mcpMethod === 'tools/call';
  if (executesTool) Object.assign(attributes, { [Attr.OPERATION]: 'execute_tool', [Attr.TOOL_NAME]: start.toolName, [Attr.TOOL_TYPE]: mcp ? 'extension' : 'function' });
  if (start.toolCallId !== undefined && start.toolCallId !== null) {
    if (executesTool) attributes[Attr.TOOL_CALL_ID] = String(start.toolCallId);
    if (mcp) attributes[Attr.JSONRPC_ID] = String(start.toolCallId);
  }
  return Object.assign(attributes, mcpAttributes(start));
}

/** The MCP conventions' attributes that are known (and the decision ID). */
function mcpAttributes(start: DecisionSpanStart): Attributes {
  const attributes: Attributes = {};
  // `$sse`, `$delete`, `$response`, `$invalid` name what the gate saw, not an MCP method.
  if (start.mcpMethod && !start.mcpMethod.startsWith('$')) attributes[Attr.MCP_METHOD] = start.mcpMethod;
  const optional: Array<[string, string | undefined]> = [
    [Attr.MCP_SERVER, start.mcpServer],
    [Attr.MCP_PROTOCOL_VERSION, start.mcpProtocolVersion],
    [Attr.MCP_SESSION_ID, start.mcpSessionId],
    [Attr.DECISION_ID, start.decisionId],
  ];
  for (const [name, value] of optional) if (value) attributes[name] = value;
  return attributes;
}

/** Where an upstream request goes: an origin (`scheme://host[:port]`, as `URL.origin` writes it) and the path with its query. */
export interface UpstreamTarget {
  origin: string;
  path: string;
}

/** `scheme://host[:port]` as `URL.origin` writes it: lower case, a bracketed IPv6 address or a plain name; anything else is parsed as a URL. */
const ORIGIN = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([1-9]\d*))?$/;

/** The client span's HTTP attributes from a parsed URL; `url.full` leaves the query out. */
function urlAttributes(method: string, u: URL): Attributes {
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return { 'http.request.method': method.toUpperCase(), 'url.full': `${u.protocol}//${u.host}${u.pathname}`, 'server.address': u.hostname, 'server.port': port };
}

/** The same as `urlAttributes`, read from an origin without a URL parse (this is on every call) when the origin is in URL.origin's form. */
function clientAttributes(method: string, target: UpstreamTarget | string): Attributes {
  if (typeof target === 'string') return urlAttributes(method, new URL(target));
  const m = ORIGIN.exec(target.origin);
  const defaultPort = m?.[1] === 'https' ? 443 : 80;
  if (!m || Number(m[3]) === defaultPort) return urlAttributes(method, new URL(target.origin + target.path));
  const query = target.path.indexOf('?');
  const path = query < 0 ? target.path : target.path.slice(0, query);
  return { 'http.request.method': method.toUpperCase(), 'url.full': m[0] + path, 'server.address': m[2]!, 'server.port': m[3] ? Number(m[3]) : defaultPort };
}

/** One decision's span and its children. Every method is safe to call once the span has ended (it then does nothing). */
export class DecisionSpan {
  readonly span: Span;
  /** Context with the decision span active: parent of the children. */
  readonly context: Context;
  readonly #tracing: Tracing;
  /** Epoch milliseconds at the start, and `performance.now()` then: the origin of `now()`. */
  readonly #startedAt: number;
  readonly #monotonicStart: number;
  #evaluated = false;

  constructor(tracing: Tracing, start: DecisionSpanStart) {
    this.#tracing = tracing;
    this.#monotonicStart = performance.now();
    this.#startedAt = start.startTime ?? Date.now();
    const attributes = decisionAttributes(start);
    this.span = tracing.tracer.startSpan(
      decisionSpanName(start),
      { kind: SpanKind.INTERNAL, attributes, startTime: this.#startedAt },
      start.parent,
    );
    this.context = trace.setSpan(start.parent, this.span);
  }

  /** Epoch milliseconds, with sub-millisecond precision, on this span's clock. */
  now(): number {
    return this.#startedAt + (performance.now() - this.#monotonicStart);
  }

  #child(span: Span): ChildSpan {
    return { span, end: () => span.end(this.now()) };
  }

  /** W3C trace ID (32 hex): the agent's when it sent a `traceparent`. */
  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  /** Child span around one policy evaluation, from `startTime` (this span's clock, default now); end it when the engine returns. */
  startEvaluation(entrypoint: string, startTime?: number): ChildSpan {
    this.#evaluated = true;
    return this.#child(
      this.#tracing.tracer.startSpan(
        'portcullis.policy.evaluate',
        { kind: SpanKind.INTERNAL, attributes: { [Attr.ENTRYPOINT]: entrypoint }, startTime: startTime ?? this.now() },
        this.context,
      ),
    );
  }

  /** Child client span for the upstream call; its `traceparent` goes upstream. */
  startUpstream(method: string, target: UpstreamTarget | string): UpstreamSpan {
    const span = this.#tracing.tracer.startSpan(
      method.toUpperCase(),
      { kind: SpanKind.CLIENT, startTime: this.now(), attributes: clientAttributes(method, target) },
      this.context,
    );
    return new ClientSpan(span, this);
  }

  /** Sets the decision's attributes; `at` is when it was made (this span's clock, default now). */
  recordDecision(d: DecisionAttributes, at?: number): void {
    if (!this.#evaluated) {
      const now = at ?? this.now();
      const evaluation = this.startEvaluation(d.entrypoint, d.evaluationMs !== undefined ? now - d.evaluationMs : this.#startedAt);
      evaluation.span.setAttributes({ [Attr.POLICY_DIGEST]: d.policyDigest, [Attr.EFFECT]: d.effect });
      evaluation.span.end(now);
    }
    this.span.setAttributes({
      [Attr.EFFECT]: d.effect,
      [Attr.ENFORCED_EFFECT]: d.enforcedEffect,
      [Attr.REASON]: d.reason,
      [Attr.POLICY_DIGEST]: d.policyDigest,
      [Attr.BUNDLE]: d.bundle,
      [Attr.ENTRYPOINT]: d.entrypoint,
      [Attr.INPUT_HASH]: d.inputHash,
    });
  }

  recordLedger(seq: number, hash: string): void {
    this.span.setAttributes({ [Attr.LEDGER_SEQ]: seq, [Attr.LEDGER_HASH]: hash });
  }

  /** What reached the agent; `status` is the upstream's, 0 (no attribute) when none answered, as for a denied call. */
  recordOutput(outputHash: string | undefined, bytes: number, status?: number): void {
    if (outputHash) this.span.setAttribute(Attr.OUTPUT_HASH, outputHash);
    this.span.setAttribute(Attr.OUTPUT_BYTES, bytes);
    if (status) this.span.setAttribute('http.response.status_code', status);
  }

  /** Marks the decision span failed with a stable error code (PortcullisError code or upstream error). */
  fail(errorType: string, message?: string): void {
    this.span.setAttribute(Attr.ERROR_TYPE, errorType);
    this.span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
  }

  /** Ends the span at `endTime` (epoch milliseconds), default now on this span's clock. */
  end(endTime?: number): void {
    this.span.end(endTime ?? this.now());
  }
}

/** The client span of one upstream request, ended on its decision span's clock. */
class ClientSpan implements UpstreamSpan {
  readonly span: Span;
  readonly #decision: DecisionSpan;

  constructor(span: Span, decision: DecisionSpan) {
    this.span = span;
    this.#decision = decision;
  }

  /** Written here rather than by the propagator: the span context is always valid, and this is on every call. */
  get traceparent(): string {
    const ctx = this.span.spanContext();
    return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  }

  end(): void {
    this.span.end(this.#decision.now());
  }

  finish(status: number, errorCode?: string): void {
    if (status > 0) this.span.setAttribute('http.response.status_code', status);
    if (errorCode) {
      this.span.setAttribute(Attr.ERROR_TYPE, errorCode);
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.end();
  }
}

/** Starts the span of one decision. */
export function startDecisionSpan(tracing: Tracing, start: DecisionSpanStart): DecisionSpan {
  return new DecisionSpan(tracing, start);
}
