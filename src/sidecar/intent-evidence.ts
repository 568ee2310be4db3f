/**
 * The intent of a decision made evidence before the call may go: the
 * decision span's attributes and, with a recorder, a durable ledger entry.
 * No action executes without a durable record of its authorization: in
 * enforce mode an allowed call whose intent cannot be recorded is refused
 * (LEDGER_WRITE).
 */
import type { EvidenceRecorder, EnforcedEffect, IntentRecord } from '../evidence/recorder.ts';
import type { Outcome, Resolution } from '../gate/resolve.ts';
import { logsDecisions, type Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import { canonicalInput, type CanonicalInput } from '../evidence/hash.ts';
import { ErrorCodes, PortcullisError, isPortcullisError } from '../errors.ts';
import type { CallTrace } from './call-trace.ts';
import type { DecisionFrame } from './decision-frame.ts';

export interface IntentDeps {
  recorder?: EvidenceRecorder | undefined;
  metrics?: PortcullisMetrics | undefined;
  logger?: Logger | undefined;
  /** Whether spans are exported: the input hash is then on the span. */
  tracing: boolean;
}

/** Where the intent went: what the approval and the outcome refer to. */
export interface Recorded {
  decisionId: string;
  inputHash: string;
  seq?: number;
}

export interface Intent {
  decisionId: string;
  time: Date;
  trace: CallTrace;
  res: Resolution;
  /** A call refused before any policy saw it: a plain deny, not a fail-closed error. */
  refusal?: boolean;
  /** The canonical text of an input made before it was evaluated (`canonicalBeforehand`), used when `of` is the resolution's input. */
  canonical?: { of: Resolution['input']; text: CanonicalInput } | undefined;
}

/**
 * The input's canonical text made before evaluation, when its hash will be
 * needed anyway: the engine then reads that text rather than serialising the
 * input once more. Undefined when the hash may not be needed, or when the
 * input cannot be encoded (recordIntent refuses it then, with the reason).
 */
export function canonicalBeforehand(d: IntentDeps, input: Resolution['input']): CanonicalInput | undefined {
  if (!evidenceHashes(d)) return undefined;
  try {
    return canonicalInput(input);
  } catch {
    return undefined;
  }
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

/** `error` marks a fail-closed deny (no bundle, engine failure); a refusal of bad input is a plain deny. */
function enforcedEffect(frame: DecisionFrame, it: Intent): EnforcedEffect {
  const { res } = it;
  const ev = res.evaluation;
  const failedClosed = ev.error && frame.mode === 'enforce' && !it.refusal && res.outcome.kind === 'deny' && res.outcome.error === ev.error;
  return failedClosed ? 'error' : res.enforced;
}

function intentRecord(frame: DecisionFrame, it: Intent, hash: string, enforced: EnforcedEffect): IntentRecord {
  const ev = it.res.evaluation;
  const record: IntentRecord = {
    decisionId: it.decisionId,
    time: it.time.toISOString(),
    traceId: it.trace.traceId,
    mode: frame.mode,
    effect: ev.decision.effect,
    enforcedEffect: enforced,
    reason: ev.decision.reason,
    policyDigest: ev.digest,
    bundle: frame.bundleName,
    entrypoint: ev.entrypoint,
    inputHash: hash,
    input: it.res.input,
    decision: ev.raw ?? null,
  };
  const code = it.res.outcome.kind === 'deny' ? it.res.outcome.error.code : ev.error?.code;
  if (code) record.errorCode = code;
  return record;
}

/** Records the intent; resolves with the outcome that stands (an allow becomes LEDGER_WRITE when it could not be recorded). */
export async function recordIntent(d: IntentDeps, frame: DecisionFrame, it: Intent): Promise<{ outcome: Outcome; recorded: Recorded }> {
  const { res } = it;
  const canonical = canonicalOf(d, it);
  const hash = canonical?.hash ?? '';
  const recorded: Recorded = { decisionId: it.decisionId, inputHash: hash };
  const ev = res.evaluation;
  const enforced = enforcedEffect(frame, it);
  it.trace.decided({ effect: ev.decision.effect, enforcedEffect: enforced, reason: ev.decision.reason, policyDigest: ev.digest, bundle: frame.bundleName, entrypoint: ev.entrypoint, inputHash: hash, evaluationMs: ev.elapsedMs });
  if (!d.recorder) return { outcome: res.outcome, recorded };
  const record = intentRecord(frame, it, hash, enforced);
  const known = new Map<object, string>();
  if (canonical) known.set(res.input, canonical.canonical);
  if (res.rewritten) record.rewritten = rewrittenRecord(res.rewritten, known);
  try {
    const pos = await d.recorder.intent(record, known);
    recorded.seq = pos.seq;
    it.trace.ledger(pos.seq, pos.hash);
    return { outcome: res.outcome, recorded };
  } catch (e) {
    return { outcome: unrecorded(d, frame, it, e), recorded };
  }
}

/** The input's canonical text: the one made before evaluation when it is of this input, else made now if needed. */
function canonicalOf(d: IntentDeps, it: Intent): CanonicalInput | undefined {
  const { res } = it;
  if (it.canonical?.of === res.input) return it.canonical.text;
  return needsHash(d, res) ? recordable(res.input) : undefined;
}

/**
 * The input hash costs a canonical serialisation: only paid when something
 * records, traces, logs or binds an approval to it. The text is then kept for
 * the intent record, which holds the same input object.
 */
function needsHash(d: IntentDeps, res: Resolution): boolean {
  return evidenceHashes(d) || res.outcome.kind === 'escalate';
}

/** Whether every decision's input hash is written somewhere: the ledger, the span, or the decision log line. */
function evidenceHashes(d: IntentDeps): boolean {
  return d.recorder !== undefined || d.tracing || logsDecisions(d.logger);
}

/** The rewritten call's part of the record; its canonical text joins `known`. */
function rewrittenRecord(rewritten: NonNullable<Resolution['rewritten']>, known: Map<object, string>): NonNullable<IntentRecord['rewritten']> {
  const text = canonicalInput(rewritten.input);
  known.set(rewritten.input, text.canonical);
  return { input: rewritten.input, inputHash: text.hash, decision: rewritten.evaluation.raw ?? null };
}

/** A deny (or anything in observe mode) stands without its record, which is counted as lost; an allow does not. */
function unrecorded(d: IntentDeps, frame: DecisionFrame, it: Intent, e: unknown): Outcome {
  if (frame.mode === 'observe' || it.res.outcome.kind === 'deny') {
    d.metrics?.ledgerLost.inc({ kind: 'intent' });
    d.logger?.error({ err: e, decisionId: it.decisionId }, 'intent could not be recorded');
    return it.res.outcome;
  }
  const err = isPortcullisError(e) ? e : new PortcullisError(ErrorCodes.LEDGER_WRITE, `the decision could not be recorded: ${(e as Error)?.message}`);
  return { kind: 'deny', error: err };
}
