/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation: the one form in which
 * policy inputs and bundle data are hashed, so that the same value always
 * yields the same bytes whatever the key order it was built with.
 *
 * The `canonicalize` package is the reference implementation; this one gives
 * the same output (a differential test holds them together) at a fraction of
 * the cost, because it is on the path of every decision: the package scans
 * every string character by character for lone surrogates and tracks every
 * object in a Set, which made it the largest part of the evidence budget
 * (see bench/evidence.ts). Strings and numbers are serialised by
 * `JSON.stringify`, which is exactly what RFC 8785 §3.2.2 specifies for them;
 * keys are sorted by UTF-16 code units, which is what `Array.prototype.sort`
 * does by default.
 */

/** A lone surrogate cannot be encoded as UTF-8: RFC 8785 rejects it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Cheap first test: most strings hold no surrogate at all. */
const ANY_SURROGATE = /[\uD800-\uDFFF]/;

function hasLoneSurrogate(s: string): boolean {
  return ANY_SURROGATE.test(s) && LONE_SURROGATE.test(s);
}
/**
 * Deeper than this is taken for a cycle. Policy inputs come from parsed JSON
 * that the gate refuses past MAX_JSON_DEPTH (256, src/gate/strict-json.ts), so
 * a ledger entry wrapping one stays far inside this limit and `verify` can
 * always re-canonicalise what was written; raising that limit means raising
 * this one (test/evidence/depth.test.ts holds them together).
 */
export const MAX_DEPTH = 512;

/**
 * How deep a policy input may nest for its canonical text to be recorded: the
 * ledger splices that text into an entry (record → rewritten → input) without
 * walking it again, and `verify` walks the whole entry against MAX_DEPTH, so
 * the input must leave room for the levels that wrap it. Whatever the gate
 * could hash, the ledger can then verify, whichever path built the input.
 */
export const MAX_INPUT_DEPTH = MAX_DEPTH - 8;

function fail(problem: string): never {
  throw new TypeError(`canonicalJson: ${problem}`);
}

function skipped(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/**
 * Canonical texts already computed for objects inside a value, by identity:
 * `canonicalJson` splices them in verbatim instead of serialising those
 * objects again. The decider hashes each policy input's canonical JSON; the
 * intent record that holds the same input then costs one serialisation, not
 * two. The objects must not have changed since their text was made.
 */
export type KnownCanonical = ReadonlyMap<object, string>;

/** Printable ASCII but `"` and `\`: written as is between quotes (JSON.stringify would change nothing, and it holds no surrogate). */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A value that is not an object (nor null): a JSON scalar, or a value with no JSON form. */
function writeScalar(v: unknown): string {
  switch (typeof v) {
    case 'string':
      if (PLAIN_STRING.test(v)) return '"' + v + '"';
      if (hasLoneSurrogate(v)) fail('a string holds a lone surrogate, which has no UTF-8 form');
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) fail(`${v} is not a JSON number`);
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return fail('BigInt has no JSON form');
    default:
      return fail(`a ${typeof v} has no JSON form`);
  }
}

/** `budget`: how many more levels of objects and arrays may open below these elements. */
function writeArray(a: unknown[], budget: number, known: KnownCanonical | undefined): string {
  let out = '[';
  for (let i = 0; i < a.length; i++) {
    if (i > 0) out += ',';
    const e = a[i];
    out += skipped(e) ? 'null' : write(e, budget, known);
  }
  return out + ']';
}

/** Keys made only of these need no escaping (and hold no surrogate). */
const PLAIN_KEY = /^[\w.\-/:@]*$/;

/** `"key":` */
function keyText(k: string): string {
  if (PLAIN_KEY.test(k)) return '"' + k + '":';
  if (hasLoneSurrogate(k)) fail('a key holds a lone surrogate, which has no UTF-8 form');
  return JSON.stringify(k) + ':';
}

/** The object's own keys in UTF-16 code unit order; most objects are small, and often already in order. */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

/** Members in key order (UTF-16 code units, as RFC 8785); members with no JSON form are left out. */
function writeObject(o: Record<string, unknown>, budget: number, known: KnownCanonical | undefined): string {
  const keys = sortedKeys(o);
  let out = '{';
  let first = true;
  for (const k of keys) {
    const e = o[k];
    if (skipped(e)) continue;
    if (!first) out += ',';
    first = false;
    out += keyText(k) + write(e, budget, known);
  }
  return out + '}';
}

/** `budget`: how many more levels of objects and arrays may open below this value. */
function write(v: unknown, budget: number, known: KnownCanonical | undefined): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return writeScalar(v);
  if (budget < 0) fail('nesting deeper than the limit (a cycle?)');
  const text = known?.get(v);
  if (text !== undefined) return text;
  const o = v as Record<string, unknown> & { toJSON?: () => unknown };
  if (typeof o.toJSON === 'function') return write(o.toJSON(), budget - 1, known);
  return Array.isArray(o) ? writeArray(o, budget - 1, known) : writeObject(o, budget - 1, known);
}

/**
 * The canonical JSON text of `value`; throws for values JSON cannot hold
 * (undefined, functions, lone surrogates, non-finite numbers). Objects in
 * `known` are written as the text given for them (see KnownCanonical).
 */
export function canonicalJson(value: unknown, known?: KnownCanonical, maxDepth: number = MAX_DEPTH): string {
  if (skipped(value)) fail('value has no JSON form (undefined or a function)');
  return write(value, maxDepth, known);
}
