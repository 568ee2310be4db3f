/**
 * One policy evaluation, failing closed (design.md §1 step 3): no bundle, an
 * engine error (a spent step budget included) or a malformed decision all
 * become `deny` with the reason's error code. What the mode does with a deny
 * is the caller's business (observe mode forwards it anyway).
 *
 * Wall-clock time never decides: the same input must get the same decision
 * on a busy machine as on an idle one, and in replay. What bounds an
 * evaluation is the module's deterministic step budget
 * (PORTCULLIS_POLICY_MAX_STEPS); the time taken is only reported.
 */
import type { Decision, PolicyInput } from './types.ts';
import type { EvalResult, PolicyView } from '../policy/types.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { validateDecision } from './decision-schema.ts';
import { toPortcullisError } from './error-response.ts';

export interface Evaluation {
  decision: Decision;
  /** The entrypoint's result exactly as the engine returned it (null when undefined), for the record. */
  raw: unknown;
  /** Policy digest of the bundle that decided ('' when none was loaded). */
  digest: string;
  entrypoint: string;
  /** Set when the decision is a fail-closed deny rather than the policy's own. */
  error?: PortcullisError;
  /** Milliseconds spent in the engine. */
  elapsedMs: number;
}

export interface EvaluateOptions {
  entrypoint?: string;
  /** Monotonic milliseconds, to report the time spent. */
  now: () => number;
  /** The input's JSON text, when already made (PolicyView.evaluate). */
  inputJson?: string | undefined;
}

function failClosed(error: PortcullisError, digest: string, entrypoint: string, elapsedMs: number): Evaluation {
  return { decision: { effect: 'deny', reason: error.message }, raw: null, digest, entrypoint, error, elapsedMs };
}

/** The engine threw: a deny carrying its code (an unexpected error becomes POLICY_EVAL). */
function engineFailed(err: unknown, digest: string, entrypoint: string, elapsedMs: number): Evaluation {
  const e = toPortcullisError(err);
  const code = e.code === ErrorCodes.INTERNAL ? ErrorCodes.POLICY_EVAL : e.code;
  return failClosed(new PortcullisError(code, `policy evaluation failed: ${e.message}`, e.details, { cause: err }), digest, entrypoint, elapsedMs);
}

/** The engine's result against the decision schema; a malformed one is a deny that keeps the result for the record. */
function checkedDecision(result: unknown, digest: string, entrypoint: string, elapsedMs: number): Evaluation {
  try {
    return { decision: validateDecision(result), raw: result, digest, entrypoint, elapsedMs };
  } catch (err) {
    return { ...failClosed(toPortcullisError(err), digest, entrypoint, elapsedMs), raw: result ?? null };
  }
}

export function evaluatePolicy(engine: PolicyView | undefined, input: PolicyInput, opts: EvaluateOptions): Evaluation {
  const bundle = engine?.current();
  const entrypoint = opts.entrypoint ?? bundle?.entrypoints[0] ?? '';
  if (!engine || !bundle) {
    const e = new PortcullisError(ErrorCodes.POLICY_NO_BUNDLE, 'no policy bundle is loaded; every call is refused until one is');
    return failClosed(e, '', entrypoint, 0);
  }
  const start = opts.now();
  let answer: EvalResult;
  try {
    answer = engine.evaluate(input, entrypoint, opts.inputJson);
  } catch (err) {
    return engineFailed(err, bundle.digest, entrypoint, opts.now() - start);
  }
  return checkedDecision(answer.result, answer.digest, entrypoint, opts.now() - start);
}
