/**
 * The trace of one call, with or without OpenTelemetry wired in. With a
 * `Tracing`, the decision span is the tool-execution span and the upstream
 * gets the client span's `traceparent`; without one, the agent's trace ID is
 * kept (or a fresh one made) and a `traceparent` is still passed on, so every
 * decision has a trace ID to record and to return.
 */
import { randomHex } from './random-hex.ts';
import type { Tracing } from '../telemetry/tracing.ts';
import { startDecisionSpan, type DecisionSpan, type DecisionAttributes, type DecisionSpanStart, type UpstreamTarget } from '../telemetry/decision-span.ts';
import type { Action, Mode } from '../gate/types.ts';
import type { RawHeaders } from '../gate/headers.ts';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace ID of a valid `traceparent`, else undefined. */
export function traceIdFromHeaders(headers: RawHeaders): string | undefined {
  const v = headers['traceparent'];
  const m = typeof v === 'string' ? TRACEPARENT.exec(v.trim()) : null;
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return m[2];
}

export interface UpstreamTrace {
  traceparent: string;
  /** Ends the client span (no-op without tracing). */
  end(status: number, errorCode?: string): void;
}

/** Where a call's trace context comes from: its request headers, or the message's own. */
export interface TracedCall {
  headers: RawHeaders;
  messageTrace?: RawHeaders | undefined;
}

/** The decision span's attributes that come from the action (MCP method, server, protocol, session). */
function spanStart(action: Action): Omit<DecisionSpanStart, 'parent' | 'mode' | 'decisionId'> {
  const mcp = action.mcp;
  return {
    toolName: action.tool,
    actionType: action.type,
    toolCallId: mcp?.id,
    ...(mcp ? { mcpMethod: mcp.method, mcpServer: mcp.server } : {}),
    ...(mcp?.protocolVersion ? { mcpProtocolVersion: mcp.protocolVersion } : {}),
    ...(mcp?.sessionId ? { mcpSessionId: mcp.sessionId } : {}),
  };
}

export class CallTrace {
  readonly traceId: string;
  readonly span: DecisionSpan | undefined;
  readonly #sampled: string;
  #decided: { attrs: DecisionAttributes; at: number } | undefined;

  /**
   * `messageTrace`: the trace context a message carries itself (MCP
   * `params._meta.traceparent`), which wins over the HTTP request's: in a
   * batch, or on a connection an agent reuses, each message names its own
   * parent.
   */
  constructor(tracing: Tracing | undefined, call: TracedCall, decision: { action: Action; mode: Mode; decisionId: string }) {
    const carrier = call.messageTrace && traceIdFromHeaders(call.messageTrace) ? call.messageTrace : call.headers;
    // Sampled: every decision is evidence, so its span is always recorded.
    this.#sampled = '01';
    if (tracing) {
      this.span = startDecisionSpan(tracing, { parent: tracing.extract(carrier), ...spanStart(decision.action), mode: decision.mode, decisionId: decision.decisionId });
      this.traceId = this.span.traceId;
    } else {
      this.traceId = traceIdFromHeaders(carrier) ?? randomHex(16);
    }
  }

  upstream(method: string, target: UpstreamTarget): UpstreamTrace {
    if (!this.span) {
      return { traceparent: `00-${this.traceId}-${randomHex(8)}-${this.#sampled}`, end: () => undefined };
    }
    const upstream = this.span.startUpstream(method, target);
    return { traceparent: upstream.traceparent, end: (status, errorCode) => upstream.finish(status, errorCode) };
  }

  /**
   * Notes the decision; its attributes and the evaluation's child span are
   * made when the span ends, after the answer has gone: they cost a share of
   * the call the agent need not wait for. A second decision (after an
   * escalation) sets the first's at once.
   */
  decided(attrs: DecisionAttributes): void {
    if (!this.span) return;
    this.#recordDecided();
    this.#decided = { attrs, at: this.span.now() };
  }

  #recordDecided(): void {
    const d = this.#decided;
    if (!d) return;
    this.#decided = undefined;
    this.span?.recordDecision(d.attrs, d.at);
  }

  ledger(seq: number, hash: string): void {
    this.span?.recordLedger(seq, hash);
  }

  end(status: number, bytes: number, outputHash?: string, errorCode?: string): void {
    if (!this.span) return;
    this.#recordDecided();
    this.span.recordOutput(outputHash, bytes, status);
    if (errorCode) this.span.fail(errorCode);
    this.span.end();
  }
}
