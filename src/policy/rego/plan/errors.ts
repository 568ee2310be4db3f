/**
 * Compile errors of the planner and its passes. Each carries OPA's own error
 * code (`rego_unsafe_var_error`, …) in the message and in `details.opaCode`,
 * and the source position as `file:row:col`, so that messages read like
 * OPA's and tools can match on the code.
 */
import { ErrorCodes, PortcullisError, type ErrorCode } from '../../../errors.ts';
import type { Location } from '../ast.ts';

export type OpaCompileCode =
  | 'rego_compile_error'
  | 'rego_unsafe_var_error'
  | 'rego_recursion_error'
  | 'rego_type_error';

const codeFor: Record<OpaCompileCode, ErrorCode> = {
  rego_compile_error: ErrorCodes.REGO_COMPILE,
  rego_unsafe_var_error: ErrorCodes.REGO_UNSAFE_VAR,
  rego_recursion_error: ErrorCodes.REGO_RECURSION,
  rego_type_error: ErrorCodes.REGO_TYPE,
};

export function where(loc: Location | undefined): string {
  return loc ? `${loc.file}:${loc.row}:${loc.col}` : '<unknown>';
}

export function compileError(
  opaCode: OpaCompileCode,
  message: string,
  loc: Location | undefined,
  code?: ErrorCode,
): PortcullisError {
  return new PortcullisError(code ?? codeFor[opaCode], `${where(loc)}: ${opaCode}: ${message}`, {
    opaCode,
    file: loc?.file,
    row: loc?.row,
    col: loc?.col,
  });
}

export function unsupportedBuiltin(name: string, loc: Location | undefined): PortcullisError {
  return compileError('rego_type_error', `undefined function ${name}`, loc, ErrorCodes.REGO_UNSUPPORTED_BUILTIN);
}
