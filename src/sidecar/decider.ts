/**
 * The decision pipeline of one action: policy input → resolution (gate) →
 * escalation held on the approval broker → intent recorded durably → the
 * caller forwards or refuses → outcome recorded. Evidence, spans, metrics and
 * logs are all optional seams so the pipeline runs in tests with none of them.
 */
import type { Action, AgentIdentity, ApprovalBroker, ApprovalRequest, Approval, Mode, ToolPin } from '../gate/types.ts';
import type { PolicyEngine } from '../policy/types.ts';
import type { EvidenceRecorder, EnforcedEffect, IntentRecord } from '../evidence/recorder.ts';
import type { Tracing } from '../telemetry/tracing.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import { logDecision, type Logger } from '../telemetry/logger.ts';
import { canonicalInput } from '../evidence/hash.ts';
import { buildPolicyInput, summariseAction, withApproval } from '../gate/input.ts';
import { resolveDecision, type Outcome, type Resolution, type ResolveOptions } from '../gate/resolve.ts';
import { ErrorCodes, PortcullisError, isPortcullisError } from '../errors.ts';
import type { RawHeaders } from '../gate/headers.ts';
import { httpStatusFor } from '../gate/error-response.ts';
import { CallTrace } from './call-trace.ts';
import { TOOL_VISIBLE_ENTRYPOINT, toolListingInput, type ToolDefinition } from '../gate/tool-visibility.ts';
import { boundedMetricTool } from './metric-tool.ts';

export interface DeciderDeps {
  engine: PolicyEngine;
  mode: Mode;
  agent: AgentIdentity;
  bundleName: () => string;
  /** Evaluations slower than this are logged (never refused: see src/gate/evaluate.ts). */
  evalSlowMs: number;
  escalationTimeoutSeconds: number;
  recorder?: EvidenceRecorder | undefined;
  tracing?: Tracing | undefined;
  metrics?: PortcullisMetrics | undefined;
  logger?: Logger | undefined;
  approvals?: ApprovalBroker | undefined;
  clock: () => Date;
  ids: () => string;
  /** Monotonic milliseconds, for latencies. */
  now: () => number;
}

export interface CallInfo {
  headers: RawHeaders;
  /**
   * The `tool` label for metrics when the action's tool is not a catalog name
   * (forward-proxy calls are named by host: see metric-tool.ts); default the
   * action's tool.
   */
  metricTool?: string;
  /** Aborted when the agent goes away (a held escalation is then dropped). */
  readonly signal?: AbortSignal;
  /** Trace context carried by the message itself (MCP `params._meta`), preferred to the request headers'. */
  messageTrace?: RawHeaders;
  /**
   * MCP 2026-07-28 clients that can show a URL: an escalation is not held.
   * The approval request is made, and the call is answered at once with
   * APPROVAL_PENDING (details: approvalId, expiresAt) for the client to retry.
   */
  deferEscalation?: boolean;
  /** The retry of a deferred escalation: that approval's verdict applies, once, instead of asking again. */
  resumeApproval?: string;
}

/** An approval asked for without holding the call (`deferEscalation`), until its retry uses it. */
interface DeferredApproval {
  expiresAt: number;
  approval?: Approval;
  error?: PortcullisError;
}

export type FinalOutcome = Exclude<Outcome, { kind: 'escalate' }>;

export interface FinishInfo {
  /** The HTTP status the agent was sent; 0 when none was (a refusal recorded before its answer, a tunnel that never opened). */
  status: number;
  bytes: number;
  /** `sha256:` of the body as the agent received it. */
  outputHash?: string;
  /** `sha256:` of the upstream's body, when the gate changed it (redaction, merged messages). */
  upstreamOutputHash?: string;
  errorCode?: string;
}

export interface Decided {
  decisionId: string;
  traceId: string;
  outcome: FinalOutcome;
  trace: CallTrace;
  /** The bounded `tool` label of this call's metrics. */
  metricTool: string;
  /** Records the outcome, ends the span, counts, logs. Never throws. */
  finish(info: FinishInfo): void;
}

interface Recorded {
  decisionId: string;
  inputHash: string;
  seq?: number;
}

/**
 * The canonical input, or BAD_REQUEST for an input RFC 8785 cannot encode (a
 * lone surrogate in a string): a call that cannot be recorded is refused.
 */
function recordable(input: Resolution['input']): ReturnType<typeof canonicalInput> {
  try {
    return canonicalInput(input);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `the call cannot be recorded as canonical JSON: ${(e as Error)?.message ?? String(e)}`);
  }
}

export class Decider {
  readonly #d: DeciderDeps;
  readonly #deferred = new Map<string, DeferredApproval>();

  constructor(deps: DeciderDeps) {
    this.#d = deps;
  }

  get mode(): Mode {
    return this.#d.mode;
  }

  #options(afterApproval = false): ResolveOptions {
    return { mode: this.#d.mode, now: this.#d.now, afterApproval };
  }

  /** Decides one action and records the intent; resolves once the call may go (or must not). */
  async decide(action: Action, call: CallInfo): Promise<Decided> {
    const started = this.#d.now();
    let decisionId = this.#d.ids();
    const trace = new CallTrace(this.#d.tracing, call.headers, action, this.#d.mode, decisionId, call.messageTrace);
    const time = this.#d.clock();
    const input = buildPolicyInput(action, this.#d.agent, { time, mode: this.#d.mode, traceId: trace.traceId });
    let res = resolveDecision(this.#d.engine, input, this.#options());
    this.#observeEvaluation(res);
    let rec = await this.#intent(decisionId, time, trace, res);
    let outcome = rec.outcome;
    if (outcome.kind === 'escalate') {
      res = await this.#escalate(res, outcome, rec.recorded, trace, call);
      decisionId = this.#d.ids();
      rec = await this.#intent(decisionId, this.#d.clock(), trace, res);
      outcome = rec.outcome;
    }
    const final = outcome as FinalOutcome;
    const metricTool = this.#metricTool(call.metricTool ?? res.input.action.tool);
    let finished = false;
    return {
      decisionId,
      traceId: trace.traceId,
      outcome: final,
      trace,
      metricTool,
      finish: (info) => {
        if (finished) return;
        finished = true;
        this.#finish(decisionId, res, rec.recorded, trace, started, info, metricTool);
      },
    };
  }

  /**
   * Records a call refused before any policy could see it (malformed input,
   * body too large, unknown route): the refusal is a decision too.
   */
  async refuse(action: Action, error: PortcullisError, call: CallInfo): Promise<{ decisionId: string; traceId: string }> {
    const decisionId = this.#d.ids();
    const trace = new CallTrace(this.#d.tracing, call.headers, action, this.#d.mode, decisionId);
    const time = this.#d.clock();
    const input = buildPolicyInput(action, this.#d.agent, { time, mode: this.#d.mode, traceId: trace.traceId });
    const bundle = this.#d.engine.current();
    const res: Resolution = {
      input,
      evaluation: { decision: { effect: 'deny', reason: error.message }, raw: null, digest: bundle?.digest ?? '', entrypoint: bundle?.entrypoints[0] ?? '', error, elapsedMs: 0 },
      outcome: { kind: 'deny', error },
      enforced: 'deny',
    };
    const rec = await this.#intent(decisionId, time, trace, res, true);
    // Recorded before it is answered; the status is the one the answer carries.
    this.#finish(decisionId, res, rec.recorded, trace, this.#d.now(), { status: httpStatusFor(error.code), bytes: 0, errorCode: error.code }, this.#metricTool(call.metricTool ?? action.tool));
    return { decisionId, traceId: trace.traceId };
  }

  /**
   * Whether a listed MCP tool is shown to the agent: the bundle's
   * `portcullis/tool_visible` on the listing's input (tool-visibility.ts).
   * Only `true` shows it; an evaluation error hides it, as a decision would
   * fail closed. Observe mode hides nothing: it changes no traffic.
   */
  toolVisible(server: string, tool: ToolDefinition, traceId: string, pin?: ToolPin): boolean {
    if (this.#d.mode === 'observe') return true;
    const input = toolListingInput(server, tool, this.#d.agent, { time: this.#d.clock(), mode: this.#d.mode, traceId }, pin);
    try {
      return this.#d.engine.evaluate(input, TOOL_VISIBLE_ENTRYPOINT).result === true;
    } catch (e) {
      this.#d.logger?.warn({ err: e, server, tool: tool.name }, 'tool visibility could not be evaluated; the tool is hidden');
      return false;
    }
  }

  /** Labels stay bounded whatever the agent sends: only catalog names (and fixed values) become labels. */
  #metricTool(name: string): string {
    return boundedMetricTool(name, this.#d.engine.current()?.tools);
  }

  async #escalate(res: Resolution, outcome: Extract<Outcome, { kind: 'escalate' }>, rec: Recorded, trace: CallTrace, call: CallInfo): Promise<Resolution> {
    const denied = (code: PortcullisError['code'], message: string, input = res.input): Resolution => ({
      ...res,
      input,
      outcome: { kind: 'deny', error: new PortcullisError(code, message) },
      enforced: 'deny',
    });
    const broker = this.#d.approvals;
    if (!broker) return denied(ErrorCodes.ESCALATION_REJECTED, `this call needs approval (${outcome.reason}) but no approvals interface is configured`);
    if (call.resumeApproval !== undefined) return this.#resume(res, call.resumeApproval, outcome.reason);
    const seconds = outcome.escalation.timeoutSeconds || this.#d.escalationTimeoutSeconds;
    const action = res.input.action;
    const request = {
      id: rec.decisionId,
      inputHash: rec.inputHash,
      summary: summariseAction(action),
      action,
      agent: res.input.agent,
      approvers: outcome.escalation.approvers,
      expiresAt: new Date(this.#d.clock().getTime() + seconds * 1000).toISOString(),
      traceId: trace.traceId,
      reason: outcome.reason,
    };
    this.#d.logger?.info({ event: 'escalation', approvalId: request.id, summary: request.summary, expiresAt: request.expiresAt, traceId: trace.traceId },
      `held for approval: ${request.summary} (${outcome.reason}); run \`portcullis approve ${request.id}\` or \`portcullis reject ${request.id}\``);
    if (call.deferEscalation) return this.#defer(res, broker, request);
    let approval: Approval;
    try {
      approval = await broker.request(request, call.signal);
    } catch (e) {
      const timeout = isPortcullisError(e) && e.code === ErrorCodes.ESCALATION_TIMEOUT;
      this.#d.metrics?.approvals.inc({ verdict: timeout ? 'timeout' : 'abandoned' });
      if (timeout) return denied(ErrorCodes.ESCALATION_TIMEOUT, `no approval arrived within ${seconds} s: ${outcome.reason}`);
      return denied(ErrorCodes.ESCALATION_REJECTED, `the held call was abandoned: ${(e as Error)?.message ?? String(e)}`);
    }
    this.#d.metrics?.approvals.inc({ verdict: approval.verdict });
    const input = withApproval(res.input, approval);
    if (approval.inputHash !== rec.inputHash) {
      return denied(ErrorCodes.APPROVAL_MISMATCH, `approval ${approval.id} is for another input (${approval.inputHash})`, input);
    }
    const again = resolveDecision(this.#d.engine, input, this.#options(true));
    this.#observeEvaluation(again);
    if (approval.verdict !== 'approved') {
      return { ...again, outcome: { kind: 'deny', error: new PortcullisError(ErrorCodes.ESCALATION_REJECTED, `rejected by ${approval.approver}: ${outcome.reason}`) }, enforced: 'deny' };
    }
    return again;
  }

  #pending(res: Resolution, id: string, expiresAt: number, reason: string): Resolution {
    const error = new PortcullisError(ErrorCodes.APPROVAL_PENDING, `this call waits for approval ${id} (${reason}); retry it once a person decided`, { approvalId: id, expiresAt: new Date(expiresAt).toISOString() });
    return { ...res, outcome: { kind: 'deny', error }, enforced: 'deny' };
  }

  /** Asks for approval without holding the call; the verdict waits for the retry. */
  #defer(res: Resolution, broker: ApprovalBroker, request: ApprovalRequest): Resolution {
    const now = this.#d.clock().getTime();
    for (const [id, d] of this.#deferred) if (d.expiresAt + 60_000 < now) this.#deferred.delete(id);
    const entry: DeferredApproval = { expiresAt: Date.parse(request.expiresAt) };
    this.#deferred.set(request.id, entry);
    broker.request(request).then(
      (approval) => {
        entry.approval = approval;
        this.#d.metrics?.approvals.inc({ verdict: approval.verdict });
      },
      (e: unknown) => {
        const timeout = isPortcullisError(e) && e.code === ErrorCodes.ESCALATION_TIMEOUT;
        this.#d.metrics?.approvals.inc({ verdict: timeout ? 'timeout' : 'abandoned' });
        entry.error = timeout ? new PortcullisError(ErrorCodes.ESCALATION_TIMEOUT, `no approval arrived before ${request.expiresAt}: ${request.reason}`) : new PortcullisError(ErrorCodes.ESCALATION_REJECTED, `the approval request was abandoned: ${(e as Error)?.message ?? String(e)}`);
      },
    );
    return this.#pending(res, request.id, entry.expiresAt, request.reason);
  }

  /** The retry of a deferred escalation: pending again, or the verdict applied once (the approval is then forgotten). */
  #resume(res: Resolution, id: string, reason: string): Resolution {
    const entry = this.#deferred.get(id);
    const deny = (error: PortcullisError, r: Resolution = res): Resolution => ({ ...r, outcome: { kind: 'deny', error }, enforced: 'deny' });
    if (!entry) return deny(new PortcullisError(ErrorCodes.MRTR_STATE_INVALID, `no held call waits for approval ${id}: it ran already, or expired; retry the call without requestState to ask again`));
    if (!entry.approval && !entry.error) return this.#pending(res, id, entry.expiresAt, reason);
    // Exactly once: whatever the verdict, this approval answers one retry.
    this.#deferred.delete(id);
    if (entry.error) return deny(entry.error);
    const approval = entry.approval!;
    const again = resolveDecision(this.#d.engine, withApproval(res.input, approval), this.#options(true));
    this.#observeEvaluation(again);
    if (approval.verdict !== 'approved') return deny(new PortcullisError(ErrorCodes.ESCALATION_REJECTED, `rejected by ${approval.approver}: ${reason}`), again);
    return again;
  }

  async #intent(decisionId: string, time: Date, trace: CallTrace, res: Resolution, refusal = false): Promise<{ outcome: Outcome; recorded: Recorded }> {
    // The input hash costs a canonical serialisation: only paid when
    // something records, traces, logs or binds an approval to it.
    const d = this.#d;
    // The canonical text is kept for the intent record, which holds the same input object.
    const canonical = d.recorder || d.tracing || d.logger || res.outcome.kind === 'escalate' ? recordable(res.input) : undefined;
    const hash = canonical?.hash ?? '';
    const recorded: Recorded = { decisionId, inputHash: hash };
    const ev = res.evaluation;
    // `error` marks a fail-closed deny (no bundle, engine failure); a refusal
    // of bad input is a plain deny.
    const enforced: EnforcedEffect = ev.error && this.#d.mode === 'enforce' && !refusal && res.outcome.kind === 'deny' && res.outcome.error === ev.error ? 'error' : res.enforced;
    trace.decided({ effect: ev.decision.effect, enforcedEffect: enforced, reason: ev.decision.reason, policyDigest: ev.digest, bundle: this.#d.bundleName(), entrypoint: ev.entrypoint, inputHash: hash, evaluationMs: ev.elapsedMs });
    const recorder = this.#d.recorder;
    if (!recorder) return { outcome: res.outcome, recorded };
    const record: IntentRecord = {
      decisionId,
      time: time.toISOString(),
      traceId: trace.traceId,
      mode: this.#d.mode,
      effect: ev.decision.effect,
      enforcedEffect: enforced,
      reason: ev.decision.reason,
      policyDigest: ev.digest,
      bundle: this.#d.bundleName(),
      entrypoint: ev.entrypoint,
      inputHash: hash,
      input: res.input,
      decision: ev.raw ?? null,
    };
    const known = new Map<object, string>();
    if (canonical) known.set(res.input, canonical.canonical);
    if (res.rewritten) {
      const rewritten = canonicalInput(res.rewritten.input);
      known.set(res.rewritten.input, rewritten.canonical);
      record.rewritten = { input: res.rewritten.input, inputHash: rewritten.hash, decision: res.rewritten.evaluation.raw ?? null };
    }
    const code = res.outcome.kind === 'deny' ? res.outcome.error.code : ev.error?.code;
    if (code) record.errorCode = code;
    try {
      const pos = await recorder.intent(record, known);
      recorded.seq = pos.seq;
      trace.ledger(pos.seq, pos.hash);
      return { outcome: res.outcome, recorded };
    } catch (e) {
      if (this.#d.mode === 'observe' || res.outcome.kind === 'deny') {
        this.#d.metrics?.ledgerLost.inc({ kind: 'intent' });
        this.#d.logger?.error({ err: e, decisionId }, 'intent could not be recorded');
        return { outcome: res.outcome, recorded };
      }
      // No action executes without a durable record of its authorization.
      const err = isPortcullisError(e) ? e : new PortcullisError(ErrorCodes.LEDGER_WRITE, `the decision could not be recorded: ${(e as Error)?.message}`);
      return { outcome: { kind: 'deny', error: err }, recorded };
    }
  }

  #observeEvaluation(res: Resolution): void {
    const { elapsedMs, digest, entrypoint } = res.evaluation;
    if (elapsedMs > this.#d.evalSlowMs) {
      this.#d.logger?.warn(
        { elapsedMs: Math.round(elapsedMs * 10) / 10, slowMs: this.#d.evalSlowMs, digest, entrypoint },
        'a policy evaluation was slow (PORTCULLIS_EVAL_SLOW_MS); the decision stands — look for expensive comprehensions or iteration over large data',
      );
    }
    const m = this.#d.metrics;
    if (!m) return;
    const bundle = this.#d.bundleName();
    m.evaluationSeconds.observe({ bundle }, res.evaluation.elapsedMs / 1000);
    if (res.evaluation.error) m.failClosed.inc({ code: res.evaluation.error.code });
  }

  #finish(decisionId: string, res: Resolution, rec: Recorded, trace: CallTrace, started: number, info: FinishInfo, metricTool: string): void {
    const latencyMs = this.#d.now() - started;
    const ev = res.evaluation;
    const tool = res.input.action.tool;
    const m = this.#d.metrics;
    if (m) {
      m.decisions.inc({ effect: ev.decision.effect, tool: metricTool, mode: this.#d.mode, bundle: this.#d.bundleName() });
      m.requestSeconds.observe({ effect: res.enforced, mode: this.#d.mode }, latencyMs / 1000);
    }
    trace.end(info.status, info.bytes, info.outputHash, info.errorCode);
    if (this.#d.logger) {
      logDecision(this.#d.logger, {
        decisionId, traceId: trace.traceId, tool, mode: this.#d.mode, effect: ev.decision.effect, enforcedEffect: res.enforced,
        reason: res.outcome.kind === 'deny' ? res.outcome.error.message : ev.decision.reason, bundle: this.#d.bundleName(),
        policyDigest: ev.digest, inputHash: rec.inputHash, status: info.status, latencyMs,
        ...(rec.seq !== undefined ? { seq: rec.seq } : {}), ...(info.outputHash ? { outputHash: info.outputHash } : {}), ...(info.errorCode ? { errorCode: info.errorCode } : {}),
      });
    }
    const recorder = this.#d.recorder;
    if (!recorder) return;
    const outcome = {
      decisionId, time: this.#d.clock().toISOString(), status: info.status, bytes: info.bytes, latencyMs,
      ...(info.outputHash ? { outputHash: info.outputHash } : {}),
      ...(info.upstreamOutputHash ? { upstreamOutputHash: info.upstreamOutputHash } : {}),
      ...(info.errorCode ? { errorCode: info.errorCode } : {}),
    };
    recorder.outcome(outcome).catch((e: unknown) => {
      m?.ledgerLost.inc({ kind: 'outcome' });
      this.#d.logger?.error({ err: e, decisionId }, 'outcome could not be recorded');
    });
  }
}
