/**
 * From a decision to what happens (design.md §1 step 4), for everything that
 * needs no waiting: allow, deny, compute (rewrite, evaluate again, must be
 * allow) and observe mode. An `escalate` comes back as such; the caller holds
 * the call on the approval broker and resolves again with the approval in
 * the input.
 */
import type { Action, Constraints, Effect, Escalation, Mode, PolicyInput, Rewrite } from './types.ts';
import type { PolicyView } from '../policy/types.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { evaluatePolicy, type EvaluateOptions, type Evaluation } from './evaluate.ts';
import { applyRewrite } from './rewrite.ts';
import { toPortcullisError } from './error-response.ts';

export type Outcome =
  /**
   * `rewrite`: for compute, what the policy changed, carried as data so that
   * the upstream request is built from exactly those fields; `action` is the
   * call as decided (the rewrite applied).
   */
  | { kind: 'forward'; action: Action; constraints: Constraints; rewrite?: Rewrite }
  | { kind: 'deny'; error: PortcullisError }
  | { kind: 'escalate'; escalation: Escalation; reason: string };

export interface Rewritten {
  action: Action;
  input: PolicyInput;
  evaluation: Evaluation;
}

export interface Resolution {
  input: PolicyInput;
  evaluation: Evaluation;
  /** For compute: the rewritten action and its own decision (kept in the record). */
  rewritten?: Rewritten;
  outcome: Outcome;
  /** The effect that actually took place: observe mode always forwards. */
  enforced: Effect;
}

export interface ResolveOptions extends EvaluateOptions {
  mode: Mode;
  /** True on the evaluation after an approval: escalating again is refused. */
  afterApproval?: boolean;
}

function deny(code: PortcullisError['code'], reason: string, details?: Record<string, unknown>): Outcome {
  return { kind: 'deny', error: new PortcullisError(code, reason, details) };
}

function computeRewrite(engine: PolicyView | undefined, input: PolicyInput, ev: Evaluation, opts: ResolveOptions): { rewritten?: Rewritten; outcome: Outcome } {
  let action: Action;
  try {
    action = applyRewrite(input.action, ev.decision.rewrite!);
  } catch (e) {
    return { outcome: { kind: 'deny', error: toPortcullisError(e) } };
  }
  const input2: PolicyInput = { ...input, action };
  const ev2 = evaluatePolicy(engine, input2, opts);
  const rewritten = { action, input: input2, evaluation: ev2 };
  if (ev2.decision.effect !== 'allow') {
    const why = ev2.error ? ev2.error.message : `${ev2.decision.effect}: ${ev2.decision.reason}`;
    return { rewritten, outcome: deny(ErrorCodes.REWRITE_NOT_ALLOWED, `the rewritten call was not allowed (${why})`) };
  }
  return { rewritten, outcome: { kind: 'forward', action, constraints: ev2.decision.constraints ?? {}, rewrite: ev.decision.rewrite! } };
}

function enforce(engine: PolicyView | undefined, input: PolicyInput, ev: Evaluation, opts: ResolveOptions): { rewritten?: Rewritten; outcome: Outcome } {
  const d = ev.decision;
  switch (d.effect) {
    case 'allow':
      return { outcome: { kind: 'forward', action: input.action, constraints: d.constraints ?? {} } };
    case 'deny':
      return { outcome: ev.error ? { kind: 'deny', error: ev.error } : deny(ErrorCodes.DENIED, d.reason) };
    case 'escalate':
      if (opts.afterApproval) return { outcome: deny(ErrorCodes.ESCALATION_REJECTED, `the policy escalated again after approval: ${d.reason}`) };
      return { outcome: { kind: 'escalate', escalation: d.escalation!, reason: d.reason } };
    case 'compute':
      return computeRewrite(engine, input, ev, opts);
  }
}

function enforcedEffect(outcome: Outcome): Effect {
  if (outcome.kind === 'deny') return 'deny';
  if (outcome.kind === 'escalate') return 'escalate';
  return outcome.rewrite ? 'compute' : 'allow';
}

export function resolveDecision(engine: PolicyView | undefined, input: PolicyInput, opts: ResolveOptions): Resolution {
  const evaluation = evaluatePolicy(engine, input, opts);
  // The JSON text given is this input's: a rewritten input's evaluation makes its own.
  const later: ResolveOptions = { ...opts, inputJson: undefined };
  if (opts.mode === 'observe') {
    // Decided and recorded ("would deny"), forwarded unchanged. A compute is
    // still worked out so the record shows what enforce mode would send.
    const rewritten = evaluation.decision.effect === 'compute' ? computeRewrite(engine, input, evaluation, later).rewritten : undefined;
    const res: Resolution = { input, evaluation, outcome: { kind: 'forward', action: input.action, constraints: {} }, enforced: 'allow' };
    if (rewritten) res.rewritten = rewritten;
    return res;
  }
  const { rewritten, outcome } = enforce(engine, input, evaluation, later);
  const res: Resolution = { input, evaluation, outcome, enforced: enforcedEffect(outcome) };
  if (rewritten) res.rewritten = rewritten;
  return res;
}
