/**
 * The Rego v1 parser's entry points. Every failure is a PortcullisError with
 * code REGO_PARSE whose message reads `file:row:col: rego_parse_error: …`
 * and whose details hold `{ file, row, col, errors }`.
 */
import type { Body, Module, Term } from '../ast.ts';
import { RegoSyntaxError, toPortcullisError } from './errors.ts';
import { lex } from './lexer.ts';
import { ModuleParser } from './module-parser.ts';
import { checkModuleV1 } from './v1-checks.ts';

function run<T>(source: string, file: string, parse: (p: ModuleParser) => T): T {
  const { tokens, comments } = lex(source);
  const parser = new ModuleParser(tokens, file, comments);
  try {
    return parse(parser);
  } catch (e) {
    if (e instanceof RegoSyntaxError) throw toPortcullisError([e]);
    // A stack overflow despite the depth bound (a caller already deep in its stack).
    if (e instanceof RangeError) throw toPortcullisError([new RegoSyntaxError('max parsing recursion depth reached', { file, row: 1, col: 1, offset: 0 }, 0)]);
    throw e;
  }
}

/**
 * Parses one Rego v1 module (package, imports, rules, comments) and makes
 * OPA's v1 module checks (duplicate imports, shadowed `input`/`data`), which
 * fail with REGO_COMPILE as in OPA.
 */
export function parseModule(source: string, file: string): Module {
  const module = run(source, file, (p) => p.parseModule());
  checkModuleV1(module);
  return module;
}

/** Parses a query such as `data.authz.allow = x` into a body. */
export function parseQuery(source: string, file = 'query'): Body {
  return run(source, file, (p) => p.parseQueryBody());
}

/** Parses a body (expressions separated by `;` or line breaks). */
export const parseBody = parseQuery;

/** Parses a single term with infix operators (`1 + x`, `data.a[b]`). */
export function parseTerm(source: string, file = 'term'): Term {
  return run(source, file, (p) => p.parseSingleTerm());
}
