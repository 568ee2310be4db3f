/**
 * The real OPA as the reference for the conformance run (`--oracle opa`):
 * each case's modules, data and input go to `opa eval` as files, its query
 * runs as written, and the binding rows OPA returns are compared with the
 * rows Portcullis read out of its entrypoints. Both failing with the same
 * OPA error code (at compile or at evaluation) counts as agreement; anything else that differs is a
 * disagreement.
 */
import { isDeepStrictEqual } from 'node:util';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import type { OpaEvalOutcome, OpaEvaluator } from '../../test/support/opa-eval.ts';
import { inputTermToJson, splitConjuncts, Unsupported, type ConformanceCase } from './cases.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { opaCodeOf } from './error-match.ts';
import { compare, visibleRows, type Observed, type Row } from './run-case.ts';
import { sortBindingValues } from './value-order.ts';

/** OPA's answer for a case, or why there is none (an unreadable case file, a failure to run `opa`). */
export type OracleAnswer = (Observed & { code?: string }) | { kind: 'none'; message: string };

export async function askOpa(evaluator: OpaEvaluator, c: ConformanceCase): Promise<OracleAnswer> {
  if (c.unreadable !== undefined) return { kind: 'none', message: `the case file is not valid YAML: ${c.unreadable}` };
  let query = c.query;
  let input = c.input;
  if (c.input_term !== undefined) {
    try {
      input = inputTermToJson(c.input_term);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      // A Rego term JSON cannot carry (a set): given to every expression of the query with `with`.
      input = undefined;
      query = splitConjuncts(c.query).map((expr) => `${expr} with input as ${c.input_term}`).join('; ');
    }
  }
  const outcome = await evaluator.eval({ query, modules: c.modules, data: c.data, input, strictBuiltinErrors: c.strict_error === true });
  return observed(outcome);
}

function observed(outcome: OpaEvalOutcome): OracleAnswer {
  if (outcome.kind === 'error') return { kind: 'error', stage: outcome.stage, code: outcome.code, message: `${outcome.code}: ${outcome.message}` };
  return { kind: 'rows', rows: visibleRows(outcome.results.map((r) => r.bindings ?? {})) };
}

/**
 * Whether Portcullis's answer and OPA's agree: errors with the same OPA code
 * (either side without a code agrees with any error), or the same rows in
 * any order.
 */
export function agree(c: ConformanceCase, ours: Observed, opa: OracleAnswer): boolean {
  if (ours.kind === 'error' || opa.kind !== 'rows') {
    if (ours.kind !== 'error' || opa.kind !== 'error') return false;
    const mine = ours.message.startsWith(`${ErrorCodes.POLICY_CONFLICT}:`) ? 'eval_conflict_error' : opaCodeOf(new Error(ours.message));
    return mine === undefined || opa.code === undefined || mine === opa.code;
  }
  if (ours.kind !== 'rows') return false;
  return isDeepStrictEqual(normalise(c, ours.rows), normalise(c, opa.rows));
}

/** Rows in a canonical order; with `sort_bindings` the case says array order is not meaningful. */
function normalise(c: ConformanceCase, rows: Row[]): string[] {
  return (c.sort_bindings ? rows.map(sortBindingValues) : rows).map((r) => canonicalJson(r)).sort();
}

/**
 * Whether OPA's answer meets the case's own expectation: a check on the
 * oracle itself (how the case was handed to `opa eval`), not on Portcullis.
 */
export function opaMeetsExpectation(c: ConformanceCase, opa: OracleAnswer): boolean {
  const wantError = c.want_error_code !== undefined || c.want_error !== undefined;
  if (opa.kind === 'none') return false;
  if (opa.kind === 'error') return wantError && (c.want_error_code === undefined || opa.code === c.want_error_code);
  return !wantError && compare(c, opa.rows).status === 'pass';
}

/** One line of an answer for a report. */
export function describe(answer: Observed | OracleAnswer | undefined): string {
  if (answer === undefined) return 'no answer';
  if (answer.kind === 'none') return `no answer: ${answer.message}`;
  if (answer.kind === 'error') return `${answer.stage} error: ${clip(answer.message.replace(/\s+/g, ' '))}`;
  return answer.rows.length === 0 ? 'undefined (no rows)' : clip(JSON.stringify(answer.rows));
}

function clip(s: string): string {
  return s.length > 300 ? s.slice(0, 300) + '…' : s;
}
