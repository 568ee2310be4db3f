/**
 * JSON parsing that refuses duplicate object keys. `{"path":"/tmp","path":"/prod"}`
 * means `/prod` to JSON.parse but `/tmp` to parsers that keep the first key:
 * when the policy and the upstream could read different values, the request
 * is ambiguous and is refused (a smuggling vector).
 */
import { PortcullisError, ErrorCodes } from '../errors.ts';

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
 * Whether a double holds the value of a JSON number literal exactly as
 * written. `100.0000000000000001` is 100 to JSON.parse, and so to the policy,
 * but more than 100 to an upstream that reads decimals exactly (Python's
 * Decimal, Java's BigDecimal, Go's json.Number): the policy would decide on a
 * different number than the one that is acted on.
 */
function exactInDouble(literal: string): boolean {
  if (SHORT_NUMBER.test(literal) && literal.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15) return true;
  const parsed = Number(literal);
  return Number.isFinite(parsed) && decimalValue(literal).replace(/^-(?=0e0$)/, '') === decimalValue(String(parsed).replace(/e\+/, 'e'));
}

/** The index of the quote that closes the string whose opening quote is at `open` (a native search, then a count of the backslashes before it). */
function stringEnd(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return text.length;
    let b = quote - 1;
    while (b > open && text.charCodeAt(b) === 0x5c /* \ */) b--;
    if ((quote - 1 - b) % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** Whether a character continues a number literal: a digit, `e`, `E`, `.`, `+` or `-`. */
function inNumber(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x65 || c === 0x45 || c === 0x2e || c === 0x2b || c === 0x2d;
}

/** What one pass over valid JSON text finds: the deepest nesting, the first repeated key, the first number a double cannot hold. */
export interface JsonScan {
  depth: number;
  duplicateKey?: string;
  inexactNumber?: string;
}

/**
 * One pass over valid JSON text (JSON.parse accepted it) for the three things
 * JSON.parse does not report. Keys are compared decoded, so `"a"` and
 * `"\u0061"` collide; brackets and digits inside strings are skipped.
 */
export function scanJson(text: string): JsonScan {
  const scan: Scanner = { text, open: [], expectKey: false, result: { depth: 0 } };
  for (let i = 0; i < text.length; i++) i = step(scan, i);
  return scan.result;
}

interface Scanner {
  text: string;
  /** The keys seen in each open container; null for arrays. */
  open: Array<Set<string> | null>;
  /** The next string is an object key. */
  expectKey: boolean;
  result: JsonScan;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Reads the token at `i`; returns the index of its last character. */
function step(scan: Scanner, i: number): number {
  const c = scan.text.charCodeAt(i);
  if (c === 0x22 /* " */) return onString(scan, i);
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) onOpen(scan, c);
  else if (c === 0x7d /* } */ || c === 0x5d /* ] */) onClose(scan);
  else if (c === 0x2c /* , */) onComma(scan);
  else if (c === 0x2d /* - */ || isDigit(c)) return onNumber(scan, i);
  return i;
}

function onOpen(scan: Scanner, c: number): void {
  scan.open.push(c === 0x7b ? new Set() : null);
  scan.expectKey = c === 0x7b;
  if (scan.open.length > scan.result.depth) scan.result.depth = scan.open.length;
}

function onClose(scan: Scanner): void {
  scan.open.pop();
  scan.expectKey = false;
}

/** After a comma inside an object comes a key. */
function onComma(scan: Scanner): void {
  scan.expectKey = scan.open.length > 0 && scan.open[scan.open.length - 1] !== null;
}

function onString(scan: Scanner, i: number): number {
  const end = stringEnd(scan.text, i);
  if (scan.expectKey) {
    noteKey(scan, i, end);
    scan.expectKey = false;
  }
  return end;
}

function onNumber(scan: Scanner, i: number): number {
  const text = scan.text;
  let end = i + 1;
  let exponent = false;
  for (let d = text.charCodeAt(end); end < text.length && inNumber(d); d = text.charCodeAt(++end)) exponent ||= d === 0x65 || d === 0x45;
  // Without an exponent, 15 characters hold at most 15 significant digits: exact, no need to look closer.
  const short = end - i <= 15 && !exponent;
  if (!short && scan.result.inexactNumber === undefined && !exactInDouble(text.slice(i, end))) scan.result.inexactNumber = text.slice(i, end);
  return end - 1;
}

/** Adds the key whose quotes are at `open` and `close` to the innermost object's keys, noting the first repeat. */
function noteKey(scan: Scanner, open: number, close: number): void {
  const keys = scan.open[scan.open.length - 1]!;
  const raw = scan.text.slice(open + 1, close);
  const key = raw.includes('\\') ? (JSON.parse(scan.text.slice(open, close + 1)) as string) : raw;
  if (keys.has(key)) scan.result.duplicateKey ??= key;
  keys.add(key);
}

/** The first repeated key in valid JSON text, or undefined. */
export function findDuplicateKey(text: string): string | undefined {
  return scanJson(text).duplicateKey;
}

/** The deepest nesting of objects and arrays in valid JSON text. */
export function jsonDepth(text: string): number {
  return scanJson(text).depth;
}

/** The first number literal in valid JSON text whose value a double cannot hold, or undefined. */
export function findInexactNumber(text: string): string | undefined {
  return scanJson(text).inexactNumber;
}

/**
 * Parses JSON; throws BAD_REQUEST on syntax errors, numbers a double cannot
 * hold and nesting deeper than MAX_JSON_DEPTH, and JSON_DUPLICATE_KEY on
 * repeated keys. JSON.parse does the parsing natively; one scan of the text
 * finds the rest.
 */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `request body is not valid JSON: ${(e as Error).message}`);
  }
  const scan = scanJson(text);
  const inexact = scan.inexactNumber;
  if (inexact !== undefined) {
    throw new PortcullisError(
      ErrorCodes.BAD_REQUEST,
      `request body holds the number ${inexact.length > 64 ? inexact.slice(0, 64) + '…' : inexact}, which has more precision or range than the policy can see (a 64-bit float); send at most 15 significant digits, or send the number as a string`,
      { number: inexact.slice(0, 64) },
    );
  }
  if (scan.depth > MAX_JSON_DEPTH) {
    throw new PortcullisError(
      ErrorCodes.BAD_REQUEST,
      `request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels; its evidence could not be recorded verifiably`,
      { maxDepth: MAX_JSON_DEPTH },
    );
  }
  const dup = scan.duplicateKey;
  if (dup !== undefined) {
    throw new PortcullisError(ErrorCodes.JSON_DUPLICATE_KEY, `request body repeats the key ${JSON.stringify(dup)} in one object; send each key once`, { key: dup });
  }
  return value;
}
