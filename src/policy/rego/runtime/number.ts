// Numbers. Rego numbers are arbitrary precision; the runtime keeps integers
// that fit i64 exact, computes everything else in f64, and keeps the text of
// literals and JSON numbers that are not plain i64 integers so that they are
// printed back exactly as written when they are only passed through.

import {
  TYPE_NUMBER, NUM_INT, NUM_FLOAT, NUM_REF, NUM_BIGINT, makeNumberI64, makeNumberF64,
} from './value';
import { alloc } from './memory';
import { compareBytes } from './compare';
import { bigAddSub, bigMul, bigRem } from './bigint';
import { decimalOfText, decimalOfNumber, compareDecimals, nearestF64, decimalIsZero, decimalIsNeg, decimalIsInteger } from './exact-decimal';

const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

function pow10(e: i32): f64 {
  if (e >= 0 && e <= 22) return unchecked(POW10[e]);
  return Math.pow(10, <f64>e);
}

function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

/**
 * Parses JSON number text at [ptr, ptr+len). Returns a number value, or 0
 * when the text is not a complete JSON number. The text is referenced.
 */
export function parseNumberText(ptr: usize, len: usize): usize {
  let i: usize = 0;
  let neg = false;
  if (i < len && load<u8>(ptr) == 0x2d) { neg = true; i++; }
  const intStart = i;
  let mant: u64 = 0;
  let digits: i32 = 0;      // significant digits accumulated into mant
  let dropped: i32 = 0;     // integer digits beyond the 19 kept
  while (i < len && isDigit(load<u8>(ptr + i))) {
    const d = <u64>(load<u8>(ptr + i) - 0x30);
    if (digits < 19) { mant = mant * 10 + d; if (mant != 0) digits++; } else dropped++;
    i++;
  }
  if (i == intStart) return 0;
  let isInt = true;
  let exp: i32 = dropped;
  if (i < len && load<u8>(ptr + i) == 0x2e) {
    isInt = false;
    i++;
    const fracStart = i;
    while (i < len && isDigit(load<u8>(ptr + i))) {
      const d = <u64>(load<u8>(ptr + i) - 0x30);
      if (digits < 19) { mant = mant * 10 + d; if (mant != 0) digits++; exp--; }
      i++;
    }
    if (i == fracStart) return 0;
  }
  if (i < len && (load<u8>(ptr + i) | 0x20) == 0x65) {
    isInt = false;
    i++;
    let eneg = false;
    if (i < len && (load<u8>(ptr + i) == 0x2d || load<u8>(ptr + i) == 0x2b)) { eneg = load<u8>(ptr + i) == 0x2d; i++; }
    const expStart = i;
    let e: i32 = 0;
    while (i < len && isDigit(load<u8>(ptr + i))) {
      if (e < 100000) e = e * 10 + <i32>(load<u8>(ptr + i) - 0x30);
      i++;
    }
    if (i == expStart) return 0;
    exp += eneg ? -e : e;
  }
  if (i != len) return 0;
  if (isInt && dropped == 0 && (mant <= <u64>i64.MAX_VALUE || (neg && mant == <u64>1 << 63))) {
    return makeNumberI64(neg ? <i64>(0 - mant) : <i64>mant);
  }
  let f: f64;
  if (mant < (<u64>1 << 53) && exp >= -22 && exp <= 22) {
    f = exp < 0 ? <f64>mant / pow10(-exp) : <f64>mant * pow10(exp);
  } else if (exp < -300) {
    f = (<f64>mant / pow10(-exp - 300)) / 1e300;
  } else {
    f = exp < 0 ? <f64>mant / pow10(-exp) : <f64>mant * pow10(exp);
  }
  if (neg) f = -f;
  // Beyond the exact fast path the approximation may be an ulp or two off: correct it.
  if (!(mant < (<u64>1 << 53) && exp >= -22 && exp <= 22)) f = nearestF64(decimalOfText(ptr, len), f);
  const v = alloc(24);
  store<u8>(v, TYPE_NUMBER);
  store<u8>(v, isInt ? NUM_BIGINT : NUM_REF, 1);
  store<u32>(v, <u32>len, 4);
  store<f64>(v, f, 8);
  store<u32>(v, <u32>ptr, 16);
  return v;
}

/** The number's value as f64 (exact for INT within 2^53). */
export function numberToF64(v: usize): f64 {
  return load<u8>(v, 1) == NUM_INT ? <f64>load<i64>(v, 8) : load<f64>(v, 8);
}

/** True when the number holds an exact i64. */
export function numberIsI64(v: usize): bool {
  const r = load<u8>(v, 1);
  if (r == NUM_INT) return true;
  if (r == NUM_BIGINT) return false;
  const f = load<f64>(v, 8);
  return f == Math.trunc(f) && f >= -9.2233720368547e18 && f <= 9.2233720368547e18;
}

/** The number as i64 (truncated if it is not an integer). */
export function numberToI64(v: usize): i64 {
  return load<u8>(v, 1) == NUM_INT ? load<i64>(v, 8) : <i64>load<f64>(v, 8);
}

/** True when the number is mathematically an integer. */
export function numberIsInteger(v: usize): bool {
  const r = load<u8>(v, 1);
  if (r == NUM_INT || r == NUM_BIGINT) return true;
  const f = load<f64>(v, 8);
  if (r == NUM_REF && (f == Math.trunc(f) || !isFinite(f))) return decimalIsInteger(decimalOfNumber(v));
  return f == Math.trunc(f) && isFinite(f);
}

/** Text of a REF/BIGINT number (0 length for INT/FLOAT). */
export function numberTextPtr(v: usize): usize { return <usize>load<u32>(v, 16); }
export function numberTextLen(v: usize): usize {
  const r = load<u8>(v, 1);
  return r == NUM_REF || r == NUM_BIGINT ? <usize>load<u32>(v, 4) : 0;
}

function bigSign(v: usize): i32 {
  return load<u8>(numberTextPtr(v)) == 0x2d ? -1 : 1;
}

/**
 * Numeric order, exact as OPA's: f64 values (exact, or correctly rounded
 * from the text) decide when they differ, since rounding to nearest keeps
 * order; when they are equal the exact decimals decide (1e400 and 1e399
 * are both Infinity, 2^53 + 1 and 2^53 the same f64).
 */
export function compareNumbers(a: usize, b: usize): i32 {
  const ra = load<u8>(a, 1);
  const rb = load<u8>(b, 1);
  if (ra == NUM_INT && rb == NUM_INT) {
    const x = load<i64>(a, 8);
    const y = load<i64>(b, 8);
    return x == y ? 0 : x < y ? -1 : 1;
  }
  const x = numberToF64(a);
  const y = numberToF64(b);
  if (x != y) return x < y ? -1 : 1;
  if (ra == NUM_FLOAT && rb == NUM_FLOAT) return 0;
  if ((ra == NUM_REF || ra == NUM_BIGINT) && ra == rb) {
    const la = numberTextLen(a);
    if (la == numberTextLen(b) && memory.compare(numberTextPtr(a), numberTextPtr(b), la) == 0) return 0;
  }
  return compareDecimals(decimalOfNumber(a), decimalOfNumber(b));
}

// ---- arithmetic --------------------------------------------------------

/**
 * A float result of arithmetic, rounded to 15 significant digits. OPA
 * computes with 64-bit-mantissa big floats, so `0.1 + 0.2 == 0.3` holds
 * there; rounding f64 results to the digits f64 represents exactly keeps
 * such decimal arithmetic equal to its literal.
 */
function floatResult(x: f64): usize {
  const a = Math.abs(x);
  if (a == 0 || !isFinite(x) || a >= 1e15 || a < 1e-7) return makeNumberF64(x);
  const k = 14 - <i32>Math.floor(Math.log10(a));
  if (k < 0 || k > 22) return makeNumberF64(x);
  const p = unchecked(POW10[k]);
  const r = Math.floor(a * p + 0.5) / p;
  return makeNumberF64(x < 0 ? -r : r);
}

function bothInt(a: usize, b: usize): bool {
  return load<u8>(a, 1) == NUM_INT && load<u8>(b, 1) == NUM_INT;
}

/** Both are integers and at least one is beyond i64 (or an i64 result overflowed). */
function bothInteger(a: usize, b: usize): bool {
  const ra = load<u8>(a, 1);
  const rb = load<u8>(b, 1);
  return (ra == NUM_INT || ra == NUM_BIGINT) && (rb == NUM_INT || rb == NUM_BIGINT);
}

export function numAdd(a: usize, b: usize): usize {
  if (bothInt(a, b)) {
    const x = load<i64>(a, 8);
    const y = load<i64>(b, 8);
    const r = x + y;
    if (((x ^ r) & (y ^ r)) >= 0) return makeNumberI64(r);
  }
  if (bothInteger(a, b)) return bigAddSub(a, b, false);
  return floatResult(numberToF64(a) + numberToF64(b));
}

export function numSub(a: usize, b: usize): usize {
  if (bothInt(a, b)) {
    const x = load<i64>(a, 8);
    const y = load<i64>(b, 8);
    const r = x - y;
    if (((x ^ y) & (x ^ r)) >= 0) return makeNumberI64(r);
  }
  if (bothInteger(a, b)) return bigAddSub(a, b, true);
  return floatResult(numberToF64(a) - numberToF64(b));
}

export function numMul(a: usize, b: usize): usize {
  if (bothInt(a, b)) {
    const x = load<i64>(a, 8);
    const y = load<i64>(b, 8);
    const ax = x < 0 ? -x : x;
    const ay = y < 0 ? -y : y;
    if (ax < 0x7fffffff && ay < 0x7fffffff) return makeNumberI64(x * y);
    const r = x * y;
    if (x != 0 && (r / x != y || (x == -1 && y == i64.MIN_VALUE))) return bigMul(a, b);
    return makeNumberI64(r);
  }
  if (bothInteger(a, b)) return bigMul(a, b);
  return floatResult(numberToF64(a) * numberToF64(b));
}

/** a / b; the caller rejects b == 0. */
export function numDiv(a: usize, b: usize): usize {
  if (bothInt(a, b)) {
    const x = load<i64>(a, 8);
    const y = load<i64>(b, 8);
    if (y != 0 && x % y == 0 && !(x == i64.MIN_VALUE && y == -1)) return makeNumberI64(x / y);
  }
  return floatResult(numberToF64(a) / numberToF64(b));
}

/** a % b for integers (truncated, sign of a); the caller rejects b == 0 and non-integers. */
export function numRem(a: usize, b: usize): usize {
  if (bothInt(a, b)) {
    const y = load<i64>(b, 8);
    if (y == -1) return makeNumberI64(0);
    return makeNumberI64(load<i64>(a, 8) % y);
  }
  if (bothInteger(a, b)) return bigRem(a, b);
  const x = numberToF64(a);
  const y = numberToF64(b);
  return makeNumberF64(x - Math.trunc(x / y) * y);
}

export function numIsZero(v: usize): bool {
  const r = load<u8>(v, 1);
  if (r == NUM_INT) return load<i64>(v, 8) == 0;
  if (r == NUM_BIGINT) return false;
  if (load<f64>(v, 8) != 0) return false;
  // 1e-400 reads as 0.0 but is not zero.
  return r != NUM_REF || decimalIsZero(decimalOfNumber(v));
}

/** -v, exact: the text of a written number keeps its digits (-(-9223372036854775808) is an integer). */
export function numNeg(v: usize): usize {
  const r = load<u8>(v, 1);
  if (r == NUM_INT && load<i64>(v, 8) != i64.MIN_VALUE) return makeNumberI64(-load<i64>(v, 8));
  if (r == NUM_INT || r == NUM_REF || r == NUM_BIGINT) return numberOfDecimal(decimalOfNumber(v), true);
  return makeNumberF64(-numberToF64(v));
}

/** An integer written as text (1e20, 2.0) as an exact integer number (INT or BIGINT); other numbers as they are. */
export function numberAsInteger(v: usize): usize {
  if (load<u8>(v, 1) != NUM_REF || !numberIsInteger(v)) return v;
  return numberOfDecimal(decimalOfNumber(v), false);
}

/** The number for a decimal, negated when asked: -DIGITS for an integer (as OPA prints one), else -D.DDDe±X. */
function numberOfDecimal(d: usize, negate: bool): usize {
  if (decimalIsZero(d)) return makeNumberI64(0);
  const p = <usize>load<u32>(d, 12);
  const n = <usize>load<u32>(d, 4);
  const point = load<i32>(d, 8);
  const integral = point >= <i32>n && point - <i32>n <= 4096;
  const text = alloc(integral ? <usize>point + 1 : n + 16);
  let at = text;
  if (decimalIsNeg(d) != negate) store<u8>(at++, 0x2d);
  if (integral) {
    memory.copy(at, p, n);
    at += n;
    for (let k = <i32>n; k < point; k++) store<u8>(at++, 0x30);
  } else {
    store<u8>(at++, load<u8>(p));
    if (n > 1) {
      store<u8>(at++, 0x2e);
      memory.copy(at, p + 1, n - 1);
      at += n - 1;
    }
    store<u8>(at++, 0x65);
    let e = point - 1;
    if (e < 0) { store<u8>(at++, 0x2d); e = -e; }
    const digits = alloc(12);
    let k = 0;
    do { store<u8>(digits + <usize>k, <u8>(0x30 + e % 10)); e /= 10; k++; } while (e != 0);
    while (k > 0) { k--; store<u8>(at++, load<u8>(digits + <usize>k)); }
  }
  return parseNumberText(text, at - text);
}

