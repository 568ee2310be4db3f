/**
 * JSON parsing that refuses duplicate object keys. `{"path":"/tmp","path":"/prod"}`
 * means `/prod` to JSON.parse but `/tmp` to parsers that keep the first key:
 * when the policy and the upstream could read different values, the request
 * is ambiguous and is refused (a smuggling vector).
 */
import { PortcullisError, ErrorCodes } from '../errors.ts';

/**
 * Scans valid JSON text for an object with a repeated key; returns the key or
 * undefined. Keys are compared decoded, so `"a"` and `"\u0061"` collide.
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === 0x22) break;
        i++;
      }
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const raw = text.slice(start + 1, i);
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : raw;
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i++;
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] !== null && stack.length > 0;
    }
    i++;
  }
  return undefined;
}

/**
 * The deepest nesting of objects and arrays a JSON body may have. Whatever the
 * gate accepts is recorded in the ledger and must stay verifiable there: an
 * entry wraps the body a few levels deeper (record → input → action → mcp →
 * arguments), and the canonical form that hashes entries refuses nesting past
 * its own limit (512, src/evidence/canonical.ts). Refusing here, before any
 * decision, keeps every accepted body far inside that limit whatever the
 * wrapping; handling unbounded depth instead would move the problem to every
 * recursive reader of the ledger and of the input (replay, the policy engine,
 * the upstream), each one a stack to exhaust.
 */
export const MAX_JSON_DEPTH = 256;

/** The index of the quote that closes the string whose opening quote is at `open`. */
function stringEnd(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === 0x22 /* " */) return i;
    i += d === 0x5c /* \ */ ? 2 : 1;
  }
  return i;
}

/** The deepest nesting of objects and arrays in valid JSON text, scanning no further than one level past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = stringEnd(text, i);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      max = Math.max(max, depth);
      if (max > limit) return max;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return max;
}

/**
 * The decimal value of a JSON number literal as `digits × 10^exponent`, with
 * no leading or trailing zeros in `digits` (zero is `0e0`), so two spellings
 * of one value compare equal as strings.
 */
function decimalValue(literal: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return literal;
  const frac = m[3] ?? '';
  let digits = (m[2]! + frac).replace(/^0+/, '');
  let exponent = Number(m[4] ?? 0) - frac.length;
  if (digits === '') return '0e0';
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  return `${m[1]}${digits}e${exponent}`;
}

/** Literals this short always survive a round trip through a double (DBL_DIG is 15). */
const SHORT_NUMBER = /^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?$/;

/**
 * The first number literal in valid JSON text whose value a double cannot
 * hold, or undefined. `100.0000000000000001` is 100 to JSON.parse, and so to
 * the policy, but more than 100 to an upstream that reads decimals exactly
 * (Python's Decimal, Java's BigDecimal, Go's json.Number): the policy would
 * decide on a different number than the one that is acted on.
 */
export function findInexactNumber(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = stringEnd(text, i);
      continue;
    }
    if (c !== 0x2d /* - */ && (c < 0x30 || c > 0x39)) continue;
    let end = i + 1;
    while (end < text.length && /[0-9eE.+-]/.test(text[end]!)) end++;
    const literal = text.slice(i, end);
    i = end - 1;
    if (SHORT_NUMBER.test(literal) && literal.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15) continue;
    const parsed = Number(literal);
    if (!Number.isFinite(parsed) || decimalValue(literal).replace(/^-(?=0e0$)/, '') !== decimalValue(String(parsed).replace(/e\+/, 'e'))) {
      return literal;
    }
  }
  return undefined;
}

/**
 * Parses JSON; throws BAD_REQUEST on syntax errors, numbers a double cannot
 * hold and nesting deeper than MAX_JSON_DEPTH, and JSON_DUPLICATE_KEY on repeated keys.
 */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `request body is not valid JSON: ${(e as Error).message}`);
  }
  const inexact = findInexactNumber(text);
  if (inexact !== undefined) {
    throw new PortcullisError(
      ErrorCodes.BAD_REQUEST,
      `request body holds the number ${inexact.length > 64 ? inexact.slice(0, 64) + '…' : inexact}, which has more precision or range than the policy can see (a 64-bit float); send at most 15 significant digits, or send the number as a string`,
      { number: inexact.slice(0, 64) },
    );
  }
  if (typeof value === 'object' && value !== null) {
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      throw new PortcullisError(
        ErrorCodes.BAD_REQUEST,
        `request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels; its evidence could not be recorded verifiably`,
        { maxDepth: MAX_JSON_DEPTH },
      );
    }
    const dup = findDuplicateKey(text);
    if (dup !== undefined) {
      throw new PortcullisError(
        ErrorCodes.JSON_DUPLICATE_KEY,
        `request body repeats the key ${JSON.stringify(dup)} in one object; send each key once`,
        { key: dup },
      );
    }
  }
  return value;
}
