/**
 * The span of one decision, following the OpenTelemetry GenAI conventions for
 * tool execution (`execute_tool {gen_ai.tool.name}`, `gen_ai.operation.name =
 * execute_tool`, `gen_ai.tool.name`, `gen_ai.tool.call.id`) with Portcullis
 * attributes for what an auditor needs to join a span to its ledger entry.
 * Children: `portcullis.policy.evaluate` for the engine and a client span for
 * the upstream call, whose context is what goes upstream in `traceparent`.
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
   * itself, ending now and lasting this long (or, without it, covering the
   * whole decision from the span's start).
   */
  evaluationMs?: number;
}

export interface UpstreamSpan {
  span: Span;
  /** Context to inject into the upstream request's headers. */
  context: Context;
}

/** One decision's span and its children. Every method is safe to call once the span has ended (it then does nothing). */
export class DecisionSpan {
  readonly span: Span;
  /** Context with the decision span active: parent of the children. */
  readonly context: Context;
  readonly #tracing: Tracing;
  readonly #startedAt: number;
  #evaluated = false;

  constructor(tracing: Tracing, start: DecisionSpanStart) {
    this.#tracing = tracing;
    this.#startedAt = start.startTime ?? Date.now();
    const attributes: Attributes = {
      [Attr.OPERATION]: 'execute_tool',
      [Attr.TOOL_NAME]: start.toolName,
      [Attr.TOOL_TYPE]: start.actionType === 'mcp' ? 'extension' : 'function',
      [Attr.MODE]: start.mode,
      [Attr.ACTION_TYPE]: start.actionType,
    };
    if (start.toolCallId !== undefined && start.toolCallId !== null) {
      attributes[Attr.TOOL_CALL_ID] = String(start.toolCallId);
      if (start.actionType === 'mcp') attributes[Attr.JSONRPC_ID] = String(start.toolCallId);
    }
    if (start.mcpMethod) attributes[Attr.MCP_METHOD] = start.mcpMethod;
    if (start.decisionId) attributes[Attr.DECISION_ID] = start.decisionId;
    this.span = tracing.tracer.startSpan(
      `execute_tool ${start.toolName}`,
      { kind: SpanKind.INTERNAL, attributes, ...(start.startTime !== undefined ? { startTime: start.startTime } : {}) },
      start.parent,
    );
    this.context = trace.setSpan(start.parent, this.span);
  }

  /** W3C trace ID (32 hex): the agent's when it sent a `traceparent`. */
  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  /** Child span around one policy evaluation; end it when the engine returns. */
  startEvaluation(entrypoint: string, startTime?: number): Span {
    this.#evaluated = true;
    return this.#tracing.tracer.startSpan(
      'portcullis.policy.evaluate',
      { kind: SpanKind.INTERNAL, attributes: { [Attr.ENTRYPOINT]: entrypoint }, ...(startTime !== undefined ? { startTime } : {}) },
      this.context,
    );
  }

  /** Child client span for the upstream call; inject `context` into the upstream headers. */
  startUpstream(method: string, url: URL | string, attributes: Attributes = {}): UpstreamSpan {
    const u = typeof url === 'string' ? new URL(url) : url;
    const span = this.#tracing.tracer.startSpan(
      method.toUpperCase(),
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': method.toUpperCase(),
          'url.full': `${u.protocol}//${u.host}${u.pathname}`,
          'server.address': u.hostname,
          'server.port': Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
          ...attributes,
        },
      },
      this.context,
    );
    return { span, context: trace.setSpan(this.context, span) };
  }

  /** Writes `traceparent` for `ctx` (default: the decision span) into outgoing headers. */
  inject(headers: Record<string, string>, ctx: Context = this.context): void {
    this.#tracing.inject(ctx, headers);
  }

  recordDecision(d: DecisionAttributes): void {
    if (!this.#evaluated) {
      const now = Date.now();
      const evaluation = this.startEvaluation(d.entrypoint, d.evaluationMs !== undefined ? now - d.evaluationMs : this.#startedAt);
      evaluation.setAttributes({ [Attr.POLICY_DIGEST]: d.policyDigest, [Attr.EFFECT]: d.effect });
      evaluation.end(now);
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

  recordOutput(outputHash: string | undefined, bytes: number, status?: number): void {
    if (outputHash) this.span.setAttribute(Attr.OUTPUT_HASH, outputHash);
    this.span.setAttribute(Attr.OUTPUT_BYTES, bytes);
    if (status !== undefined) this.span.setAttribute('http.response.status_code', status);
  }

  /** Marks the decision span failed with a stable error code (PortcullisError code or upstream error). */
  fail(errorType: string, message?: string): void {
    this.span.setAttribute(Attr.ERROR_TYPE, errorType);
    this.span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
  }

  end(endTime?: number): void {
    this.span.end(endTime);
  }
}

/** Starts the span of one decision. */
export function startDecisionSpan(tracing: Tracing, start: DecisionSpanStart): DecisionSpan {
  return new DecisionSpan(tracing, start);
}
