/**
 * The one place a call ends, whatever happened to it: the outcome is
 * recorded, the span ended, the call counted and logged. Never throws.
 */
import type { EvidenceRecorder, OutcomeRecord } from '../evidence/recorder.ts';
import type { Resolution } from '../gate/resolve.ts';
import { logDecision, logsDecisions, type Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { CallTrace } from './call-trace.ts';
import type { DecisionFrame } from './decision-frame.ts';
import type { Recorded } from './intent-evidence.ts';

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

export interface CallEndDeps {
  recorder?: EvidenceRecorder | undefined;
  metrics?: PortcullisMetrics | undefined;
  logger?: Logger | undefined;
  clock: () => Date;
  /** Monotonic milliseconds. */
  now: () => number;
}

/** One call as it ends. */
export interface EndingCall {
  frame: DecisionFrame;
  res: Resolution;
  recorded: Recorded;
  trace: CallTrace;
  /** `now()` when the call arrived. */
  started: number;
  /** The bounded `tool` label (metric-tool.ts). */
  metricTool: string;
}

export function endCall(d: CallEndDeps, call: EndingCall, info: FinishInfo): void {
  const latencyMs = d.now() - call.started;
  const { frame, res, recorded, trace } = call;
  const ev = res.evaluation;
  d.metrics?.decisions.inc({ effect: ev.decision.effect, tool: call.metricTool, mode: frame.mode, bundle: frame.bundleName });
  d.metrics?.requestSeconds.observe({ effect: res.enforced, mode: frame.mode }, latencyMs / 1000);
  trace.end(info.status, info.bytes, info.outputHash, info.errorCode);
  // The line's fields are only built when a line is written (a level above info writes none).
  if (logsDecisions(d.logger)) {
    logDecision(d.logger, {
      decisionId: recorded.decisionId, traceId: trace.traceId, tool: res.input.action.tool, mode: frame.mode, effect: ev.decision.effect, enforcedEffect: res.enforced,
      reason: res.outcome.kind === 'deny' ? res.outcome.error.message : ev.decision.reason, bundle: frame.bundleName,
      policyDigest: ev.digest, inputHash: recorded.inputHash, status: info.status, latencyMs,
      ...(recorded.seq !== undefined ? { seq: recorded.seq } : {}), ...optional(info, 'outputHash', 'errorCode'),
    });
  }
  if (!d.recorder) return;
  if (recorded.seq === undefined) {
    // Its intent was never recorded: an outcome alone would be an orphan in
    // the chain (verify refuses one), so the outcome is lost with its intent.
    d.metrics?.ledgerLost.inc({ kind: 'outcome' });
    return;
  }
  const outcome: OutcomeRecord = {
    decisionId: recorded.decisionId, time: d.clock().toISOString(), status: info.status, bytes: info.bytes, latencyMs,
    ...optional(info, 'outputHash', 'upstreamOutputHash', 'errorCode'),
  };
  d.recorder.outcome(outcome).catch((e: unknown) => {
    d.metrics?.ledgerLost.inc({ kind: 'outcome' });
    d.logger?.error({ err: e, decisionId: recorded.decisionId }, 'outcome could not be recorded');
  });
}

/** The named fields of `info` that are set (non-empty). */
function optional<K extends keyof FinishInfo>(info: FinishInfo, ...keys: K[]): Partial<Pick<FinishInfo, K>> {
  const out: Partial<Pick<FinishInfo, K>> = {};
  for (const k of keys) if (info[k]) out[k] = info[k];
  return out;
}
