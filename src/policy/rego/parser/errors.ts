/**
 * Parse errors. Inside the parser a `RegoSyntaxError` unwinds to the nearest
 * point that can try another reading (or to the top); at the API boundary it
 * becomes a `PortcullisError` with code REGO_PARSE and a message in OPA's
 * wording, prefixed with `file:row:col:`.
 */
import { ErrorCodes, PortcullisError } from '../../../errors.ts';
import type { Location } from '../ast.ts';

export class RegoSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly loc: Location,
    /** Index of the token the parser stood on, for callers that fall back on a particular token. */
    readonly tokenIndex: number,
  ) {
    super(reason);
    this.name = 'RegoSyntaxError';
  }
}

export interface RegoParseErrorDetail {
  file: string;
  row: number;
  col: number;
  message: string;
}

/** `policy.rego:3:7: rego_parse_error: unexpected } token: expected term` */
export function formatParseError(e: RegoSyntaxError): string {
  return `${e.loc.file}:${e.loc.row}:${e.loc.col}: rego_parse_error: ${e.reason}`;
}

/**
 * The error thrown to callers. `details` carries the first error's location
 * and every collected error (today the parser stops at the first one).
 */
export function toPortcullisError(errors: RegoSyntaxError[]): PortcullisError {
  const first = errors[0]!;
  const all: RegoParseErrorDetail[] = errors.map((e) => ({
    file: e.loc.file,
    row: e.loc.row,
    col: e.loc.col,
    message: e.reason,
  }));
  return new PortcullisError(ErrorCodes.REGO_PARSE, formatParseError(first), {
    opaCode: 'rego_parse_error',
    file: first.loc.file,
    row: first.loc.row,
    col: first.loc.col,
    errors: all,
  });
}
