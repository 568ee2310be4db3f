/**
 * Whether an error Portcullis raised is the error a conformance case expects.
 *
 * Strict (the default): a case with `want_error_code` passes only on that
 * OPA code, so a type error where OPA raises a builtin error (or the
 * reverse) is a failure, not a pass. Loose (`--loose-errors`, how the runner
 * judged before): any evaluation error meets an `eval_type_error` or
 * `eval_builtin_error` expectation. Either way a case with only
 * `want_error` needs its text in the message, and a compile error never
 * meets an `eval_*` expectation.
 */
import { isPortcullisError, ErrorCodes } from '../../src/errors.ts';

/** OPA's error code in a Portcullis error: the compile error's `opaCode`, a conflict, or the code the abort message starts with. */
export function opaCodeOf(e: unknown): string | undefined {
  if (isPortcullisError(e)) {
    const opaCode = e.details?.opaCode;
    if (typeof opaCode === 'string') return opaCode;
    if (e.code === ErrorCodes.POLICY_CONFLICT) return 'eval_conflict_error';
  }
  const text = e instanceof Error ? e.message : String(e);
  return /\b((?:eval|rego)_[a-z_]+_error)\b/.exec(text)?.[1];
}

export interface ErrorExpectation {
  want_error_code?: string;
  want_error?: string;
}

/** Why the error does not meet the expectation, or undefined when it does. */
export function errorMismatch(want: ErrorExpectation, stage: 'compile' | 'eval', e: unknown, text: string, strict: boolean): string | undefined {
  const code = opaCodeOf(e);
  const wantCode = want.want_error_code;
  if (wantCode !== undefined) {
    if (stage === 'compile' && wantCode.startsWith('eval_')) return `want evaluation error ${wantCode}, got compile error ${text}`;
    if (stage === 'eval' && wantCode.startsWith('rego_')) return `want compile error ${wantCode}, got ${text}`;
    if (wantCode === 'eval_conflict_error' && code !== wantCode) return `want a conflict error, got ${text}`;
    if (strict && code !== wantCode) return `want error code ${wantCode}, got ${code ?? 'no OPA code'}: ${text}`;
    if (!strict && wantCode.startsWith('rego_') && code !== undefined && code !== wantCode) return `want ${wantCode}, got ${text}`;
    return undefined;
  }
  if (want.want_error !== undefined && !mentions(text, want.want_error)) return `want error containing ${JSON.stringify(want.want_error)}, got ${text}`;
  return undefined;
}

/** The message holds the wanted text; OPA's `file:row:` prefix is not required (positions differ in wasm). */
function mentions(text: string, want: string): boolean {
  return text.includes(want) || text.includes(want.replace(/^[^\s:]+\.rego:\d+(:\d+)?: /, ''));
}
