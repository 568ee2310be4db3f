/**
 * Tokens of the Rego lexer. Keywords are lexed as identifiers and told apart
 * by the parser, because Rego v1 lets keywords appear as ref segments
 * (`input.if`, `data.x.contains`) and `contains` is also a builtin name.
 */

export type TokenKind =
  | 'ident'
  | 'number'
  | 'string'
  /** `$"text {` or `` $`text { ``: the literal text before an embedded expression. */
  | 'template-part'
  /** `} text {`: text between two embedded expressions. */
  | 'template-mid'
  /** `$"text"` or `} text"`: the last literal text of a template string. */
  | 'template-end'
  | 'eof'
  | 'illegal'
  | '.' | ',' | ';' | ':' | '(' | ')' | '[' | ']' | '{' | '}'
  | ':=' | '=' | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '+' | '-' | '*' | '/' | '%' | '&' | '|';

export interface Token {
  kind: TokenKind;
  /** The source text of the token. */
  text: string;
  /** Decoded value of strings and template parts; the message of an illegal token. */
  value: string;
  /** True for backtick strings and raw template strings. */
  raw: boolean;
  offset: number;
  end: number;
  row: number;
  col: number;
  /** Whitespace or a comment separates this token from the previous one. */
  spaceBefore: boolean;
  /** A line break separates this token from the previous one. */
  nlBefore: boolean;
}

/** Words that can never be variable names in Rego v1. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'package', 'import', 'as', 'default', 'else', 'not', 'some', 'every', 'with',
  'in', 'if', 'contains', 'true', 'false', 'null',
]);

/**
 * OPA's names for tokens in error messages ("unexpected assign token"); the
 * operator names are also the builtin names the operators call.
 */
const TOKEN_NAMES: Partial<Record<TokenKind, string>> = {
  ':=': 'assign', '=': 'eq', '==': 'equal', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte',
  '+': 'plus', '-': 'minus', '*': 'mul', '/': 'div', '%': 'rem', '&': 'and', '|': 'or',
  'template-part': 'template-string', 'template-mid': 'template-string', 'template-end': 'template-string',
};

/** `ident token`, `if keyword`, `} token`: how an error message names a token. */
export function describeToken(tok: Token): string {
  if (tok.kind === 'ident' && KEYWORDS.has(tok.text)) return `${tok.text} keyword`;
  return `${TOKEN_NAMES[tok.kind] ?? tok.kind} token`;
}
