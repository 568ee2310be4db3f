/**
 * The decision of one call, as a pipeline of named stages:
 *
 *   frame     the bundle, its name and the mode, fixed once (decision-frame.ts)
 *   input     the action as the policy sees it (gate/input.ts)
 *   resolve   evaluate and work out the outcome: allow, deny, compute (gate/resolve.ts)
 *   intent    recorded durably before anything runs (intent-evidence.ts)
 *   escalate  held for a person, then resolved and recorded again (escalation.ts)
 *
 * The caller then carries out the effect (forward or refuse) and ends the
 * call through `Decided.finish`, the one place where a call ends
 * (call-end.ts). Evidence, spans, metrics and logs are optional seams so the
 * pipeline runs in tests with none of them.
 */
import type { Action, AgentIdentity, ApprovalBroker, Mode, ToolPin } from '../gate/types.ts';
import type { CompiledBundle, PolicyEngine, ToolEntry } from '../policy/types.ts';
import type { EvidenceRecorder } from '../evidence/recorder.ts';
import type { Tracing } from '../telemetry/tracing.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { Logger } from '../telemetry/logger.ts';
import { buildPolicyInput } from '../gate/input.ts';
import { resolveDecision, type Outcome, type Resolution } from '../gate/resolve.ts';
import { type PortcullisError } from '../errors.ts';
import type { RawHeaders } from '../gate/headers.ts';
import { httpStatusFor } from '../gate/error-response.ts';
import { CallTrace } from './call-trace.ts';
import { TOOL_VISIBLE_ENTRYPOINT, toolListingInput, type ToolDefinition } from '../gate/tool-visibility.ts';
import { boundedMetricTool } from './metric-tool.ts';
import { frameNow, type DecisionFrame } from './decision-frame.ts';
import { reportEvaluation } from './evaluation-report.ts';
import { canonicalBeforehand, recordIntent, type IntentDeps, type Recorded } from './intent-evidence.ts';
import { Escalations } from './escalation.ts';
import { endCall, type FinishInfo } from './call-end.ts';

export type { FinishInfo } from './call-end.ts';

export interface DeciderDeps {
  engine: PolicyEngine;
  /** The mode a bundle runs in: the configured one, or the bundle's own (PORTCULLIS_MODE_FROM_BUNDLE). */
  modeOf: (bundle: CompiledBundle | undefined) => Mode;
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
  /** Where a person approves a held call (approval-url.ts): named in the log and in a held call's errors. */
  approvalUrl?: ((approvalId: string) => string) | undefined;
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

export type FinalOutcome = Exclude<Outcome, { kind: 'escalate' }>;

export interface Decided {
  decisionId: string;
  traceId: string;
  outcome: FinalOutcome;
  trace: CallTrace;
  /** The bounded `tool` label of this call's metrics. */
  metricTool: string;
  /** The catalog of the bundle the call was decided on: a tool's credential is presented from it, not from a bundle loaded since. */
  tools: readonly ToolEntry[] | undefined;
  /** Ends the call (call-end.ts): records the outcome, ends the span, counts, logs. Only the first call counts. Never throws. */
  finish(info: FinishInfo): void;
}

export class Decider {
  readonly #d: DeciderDeps;
  readonly #escalations: Escalations;
  readonly #intentDeps: IntentDeps;

  constructor(deps: DeciderDeps) {
    this.#d = deps;
    this.#escalations = new Escalations(deps);
    this.#intentDeps = { recorder: deps.recorder, metrics: deps.metrics, logger: deps.logger, tracing: deps.tracing !== undefined };
  }

  /** The mode a decision starting now is made in. */
  get mode(): Mode {
    return this.#d.modeOf(this.#d.engine.current());
  }

  #frame(): DecisionFrame {
    return frameNow(this.#d);
  }

  /** Decides one action and records the intent; resolves once the call may go (or must not). */
  async decide(action: Action, call: CallInfo): Promise<Decided> {
    const started = this.#d.now();
    const frame = this.#frame();
    let decisionId = this.#d.ids();
    const trace = new CallTrace(this.#d.tracing, call, { action, mode: frame.mode, decisionId });
    const time = this.#d.clock();
    const input = buildPolicyInput(action, this.#d.agent, { time, mode: frame.mode, traceId: trace.traceId });
    const text = canonicalBeforehand(this.#intentDeps, input);
    let res = resolveDecision(frame.policy, input, { mode: frame.mode, now: this.#d.now, inputJson: text?.canonical });
    reportEvaluation(this.#d, frame, res);
    let rec = await this.#intent(frame, { decisionId, time, trace, res, canonical: text && { of: input, text } });
    if (rec.outcome.kind === 'escalate') {
      res = await this.#escalations.settle({ frame, res, outcome: rec.outcome, recorded: rec.recorded, trace }, { signal: call.signal, defer: call.deferEscalation, resume: call.resumeApproval });
      decisionId = this.#d.ids();
      rec = await this.#intent(frame, { decisionId, time: this.#d.clock(), trace, res });
    }
    const metricTool = this.#metricTool(frame, call.metricTool ?? res.input.action.tool);
    const ending = { frame, res, recorded: rec.recorded, trace, started, metricTool };
    let finished = false;
    return {
      decisionId,
      traceId: trace.traceId,
      outcome: rec.outcome as FinalOutcome,
      trace,
      metricTool,
      tools: frame.bundle?.tools,
      finish: (info) => {
        if (finished) return;
        finished = true;
        endCall(this.#d, ending, info);
      },
    };
  }

  /**
   * Records a call refused before any policy could see it (malformed input,
   * body too large, unknown route): the refusal is a decision too, recorded
   * before it is answered, with the status the answer carries.
   */
  async refuse(action: Action, error: PortcullisError, call: CallInfo): Promise<{ decisionId: string; traceId: string }> {
    const frame = this.#frame();
    const decisionId = this.#d.ids();
    const trace = new CallTrace(this.#d.tracing, { headers: call.headers }, { action, mode: frame.mode, decisionId });
    const time = this.#d.clock();
    const input = buildPolicyInput(action, this.#d.agent, { time, mode: frame.mode, traceId: trace.traceId });
    const bundle = frame.bundle;
    const res: Resolution = {
      input,
      evaluation: { decision: { effect: 'deny', reason: error.message }, raw: null, digest: bundle?.digest ?? '', entrypoint: bundle?.entrypoints[0] ?? '', error, elapsedMs: 0 },
      outcome: { kind: 'deny', error },
      enforced: 'deny',
    };
    const rec = await this.#intent(frame, { decisionId, time, trace, res, refusal: true });
    const metricTool = this.#metricTool(frame, call.metricTool ?? action.tool);
    endCall(this.#d, { frame, res, recorded: rec.recorded, trace, started: this.#d.now(), metricTool }, { status: httpStatusFor(error.code), bytes: 0, errorCode: error.code });
    return { decisionId, traceId: trace.traceId };
  }

  /**
   * Whether a listed MCP tool is shown to the agent: the bundle's
   * `portcullis/tool_visible` on the listing's input (tool-visibility.ts).
   * Only `true` shows it; an evaluation error hides it, as a decision would
   * fail closed. Observe mode hides nothing: it changes no traffic.
   */
  toolVisible(server: string, tool: ToolDefinition, traceId: string, pin?: ToolPin): boolean {
    const frame = this.#frame();
    if (frame.mode === 'observe') return true;
    const input = toolListingInput({ server, tool, pin }, this.#d.agent, { time: this.#d.clock(), mode: frame.mode, traceId });
    try {
      return frame.policy.evaluate(input, TOOL_VISIBLE_ENTRYPOINT).result === true;
    } catch (e) {
      this.#d.logger?.warn({ err: e, server, tool: tool.name }, 'tool visibility could not be evaluated; the tool is hidden');
      return false;
    }
  }

  #intent(frame: DecisionFrame, it: Parameters<typeof recordIntent>[2]): Promise<{ outcome: Outcome; recorded: Recorded }> {
    return recordIntent(this.#intentDeps, frame, it);
  }

  /** Labels stay bounded whatever the agent sends: only catalog names (and fixed values) become labels. */
  #metricTool(frame: DecisionFrame, name: string): string {
    return boundedMetricTool(name, frame.bundle?.tools);
  }
}
