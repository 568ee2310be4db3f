/**
 * JSON Schema's `pattern` is RE2 in OPA: read here through RegExp, with
 * RE2's meaning kept where the two differ and the rest refused.
 */
import { InvalidSchema, unsupported } from './schema-types.ts';

const REGEX_CACHE = new Map<string, RegExp>();

/**
 * A pattern as RE2 reads it, through RegExp: `\s` and `.` narrowed to RE2's
 * (ASCII white space; anything but a newline). Lookaround and
 * back-references do not exist in RE2: invalid, as OPA says. A pattern
 * RegExp cannot take (RE2's own syntax) is refused rather than guessed.
 */
export function regex(pattern: string): RegExp {
  const cached = REGEX_CACHE.get(pattern);
  if (cached) return cached;
  if (/\(\?<?[=!]|\\[1-9]/.test(pattern)) throw new InvalidSchema('pattern must be a valid regex');
  const { source, inClass } = translate(pattern);
  if (inClass || !balanced(pattern)) throw new InvalidSchema('pattern must be a valid regex');
  let r: RegExp;
  try {
    r = new RegExp(source, 'u');
  } catch {
    throw unsupported(`the pattern ${JSON.stringify(pattern)}`);
  }
  REGEX_CACHE.set(pattern, r);
  return r;
}

/** The RegExp source for an RE2 pattern, and whether a character class was left open. */
function translate(pattern: string): { source: string; inClass: boolean } {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      out += escapeFor(pattern[++i] ?? '', inClass);
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c !== '[') {
      out += c === '.' ? '[^\\n]' : c;
      continue;
    }
    inClass = true;
    const open = classOpening(pattern, i);
    out += open;
    i += open.length - 1;
  }
  return { source: out, inClass };
}

/** The escape `\n` (`n` its letter) in RegExp terms; `\s` and `\S` as RE2 means them. */
function escapeFor(n: string, inClass: boolean): string {
  if (n === 's') return inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
  if (n === 'S' && !inClass) return '[^\\t\\n\\f\\r ]';
  return `\\${n}`;
}

/** `[`, `[^`, `[]`, `[^]`: the start of a class at `i`, where a `]` right after is a literal. */
function classOpening(pattern: string, i: number): string {
  let open = '[';
  let j = i;
  if (pattern[j + 1] === '^') open += pattern[++j];
  if (pattern[j + 1] === ']') open += pattern[++j];
  return open;
}

/** Parentheses balance outside classes and escapes, and no escape is cut off: what any regex syntax needs. */
function balanced(pattern: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (++i >= pattern.length) return false;
      continue;
    }
    if (inClass) {
      inClass = c !== ']';
      continue;
    }
    if (c === '[') {
      inClass = true;
      i += classOpening(pattern, i).length - 1;
      continue;
    }
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0) return false;
  }
  return depth === 0 && !inClass;
}
