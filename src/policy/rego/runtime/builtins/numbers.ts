// Number builtins: to_number, format_int, numbers.range.

import {
  TYPE_NULL, TYPE_BOOLEAN, TYPE_NUMBER, TYPE_STRING, NUM_INT, makeArray, arrayAppend, makeNumberI64,
  makeNumberText, boolValue, stringLen, stringPtr,
} from '../value';
import { numberToF64, numberIsI64, numberToI64, numberTextLen, numberTextPtr, numberIsInteger, numberAsInteger, compareNumbers, numAdd, numSub, numMul } from '../number';
import { bigNew, bigMulAdd, bigDivSmall, bigIsZero, bigCopy } from './bignum';
import { typeError } from '../errors';
import { needNumber, needInt, bufNew, bufByte, bufBytes, bufPtr, bufLen, bufToString, fail, failType } from './util';

function isDigit(c: u32): bool { return c - 0x30 < 10; }

/**
 * to_number: null → 0, booleans → 0/1, numbers as they are, strings by Go's
 * strconv.ParseFloat syntax (decimal only); NaN and infinities are refused.
 */
export function builtin_to_number(v: usize): usize {
  const t = load<u8>(v);
  if (t == TYPE_NUMBER) return v;
  if (t == TYPE_NULL) return makeNumberI64(0);
  if (t == TYPE_BOOLEAN) return makeNumberI64(boolValue(v) ? 1 : 0);
  if (t != TYPE_STRING) typeError('to_number', 1, 'one of {null, boolean, number, string}', v);
  const p = stringPtr(v);
  const n = stringLen(v);
  let i: usize = 0;
  let neg = false;
  if (i < n && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) { neg = load<u8>(p) == 0x2d; i++; }
  // inf, infinity, nan in any case: a number type error in OPA.
  const rest = n - i;
  if (rest == 3 || rest == 8) {
    const c0 = load<u8>(p + i) | 0x20;
    if (c0 == 0x69 || c0 == 0x6e) {
      let word = true;
      for (let k: usize = i; k < n; k++) { const c = load<u8>(p + k) | 0x20; if (c < 0x61 || c > 0x7a) word = false; }
      if (word) failType('to_number', 'operand 1 must be a finite number');
    }
  }
  const intStart = i;
  while (i < n && isDigit(load<u8>(p + i))) i++;
  const intEnd = i;
  let fracStart = i;
  let fracEnd = i;
  if (i < n && load<u8>(p + i) == 0x2e) {
    i++;
    fracStart = i;
    while (i < n && isDigit(load<u8>(p + i))) i++;
    fracEnd = i;
  }
  if (intEnd == intStart && fracEnd == fracStart) fail('to_number', 'strconv.ParseFloat: invalid syntax');
  const expStart = i;
  if (i < n && (load<u8>(p + i) | 0x20) == 0x65) {
    i++;
    if (i < n && (load<u8>(p + i) == 0x2b || load<u8>(p + i) == 0x2d)) i++;
    const ds = i;
    while (i < n && isDigit(load<u8>(p + i))) i++;
    if (i == ds) fail('to_number', 'strconv.ParseFloat: invalid syntax');
  }
  if (i != n) fail('to_number', 'strconv.ParseFloat: invalid syntax');
  // Rewrite as JSON number text: no '+', no leading zeros, digits around '.'.
  const b = bufNew(n + 4);
  if (neg) bufByte(b, 0x2d);
  let s = intStart;
  while (s + 1 < intEnd && load<u8>(p + s) == 0x30) s++;
  if (s == intEnd) bufByte(b, 0x30); else bufBytes(b, p + s, intEnd - s);
  if (fracEnd > fracStart) { bufByte(b, 0x2e); bufBytes(b, p + fracStart, fracEnd - fracStart); }
  bufBytes(b, p + expStart, n - expStart);
  const r = makeNumberText(bufPtr(b), bufLen(b));
  if (r == 0) fail('to_number', 'strconv.ParseFloat: invalid syntax');
  if (!isFinite(numberToF64(r))) fail('to_number', 'strconv.ParseFloat: value out of range');
  return r;
}

const DIGITS = '0123456789abcdef';

/**
 * format_int(number, base): the number truncated towards zero, in base 2,
 * 8, 10 or 16. Integers beyond 64 bits are written exactly, as OPA writes
 * them (its big.Int), not through a float.
 */
export function builtin_format_int(x: usize, base: usize): usize {
  needNumber('format_int', 1, x);
  needNumber('format_int', 2, base);
  const bf = numberToF64(base);
  if (bf != 2 && bf != 8 && bf != 10 && bf != 16) failType('format_int', 'operand 2 must be one of {2, 8, 10, 16}');
  const radix = <u32>bf;
  if (load<u8>(x, 1) == NUM_INT || numberIsI64(x)) {
    const i = numberToI64(x);
    return formatMagnitude(i < 0, bigFromU64(i < 0 ? <u64>(0 - i) : <u64>i), radix);
  }
  const text = integerText(x);
  if (text != 0) return formatMagnitude(load<u8>(numberTextPtr(x)) == 0x2d, text, radix);
  const f = Math.trunc(numberToF64(x));
  return formatMagnitude(f < 0, bigFromF64(Math.abs(f)), radix);
}

/** The magnitude of a number written as plain decimal integer digits (a big integer), or 0. */
function integerText(x: usize): usize {
  const n = numberTextLen(x);
  if (n == 0) return 0;
  const p = numberTextPtr(x);
  let i: usize = load<u8>(p) == 0x2d ? 1 : 0;
  if (i == n) return 0;
  const b = bigNew(n / 9 + 2);
  for (; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (!isDigit(c)) return 0;
    bigMulAdd(b, 10, c - 0x30);
  }
  return b;
}

function bigFromU64(u: u64): usize {
  const b = bigNew(3);
  bigMulAdd(b, 1, <u32>(u >> 32));
  bigMulAdd(b, 65536, 0);
  bigMulAdd(b, 65536, <u32>(u & 0xffffffff));
  return b;
}

/** An integral, non-negative float as a big integer: its 53-bit mantissa shifted left. */
function bigFromF64(f: f64): usize {
  const bits = reinterpret<u64>(f);
  const exp = <i32>((bits >> 52) & 0x7ff);
  if (exp < 1075) return bigFromU64(<u64>f);
  const b = bigFromU64((bits & 0xfffffffffffff) | 0x10000000000000);
  const grown = bigCopy(b, <usize>(exp - 1075) / 32 + 4);
  for (let k = 0; k < exp - 1075; k++) bigMulAdd(grown, 2, 0);
  return grown;
}

/** `-` when negative and not zero, then the digits of the magnitude `b` (destroyed) in `radix`. */
function formatMagnitude(neg: bool, b: usize, radix: u32): usize {
  const out = bufNew(70);
  if (neg && !bigIsZero(b)) bufByte(out, 0x2d);
  const digits = bufNew(70);
  do {
    bufByte(digits, <u32>load<u16>(changetype<usize>(DIGITS) + (<usize>bigDivSmall(b, radix) << 1)));
  } while (!bigIsZero(b));
  const dp = bufPtr(digits);
  for (let k = bufLen(digits); k > 0; k--) bufByte(out, load<u8>(dp + k - 1));
  return bufToString(out);
}

/** numbers.range(a, b): the integers from a to b inclusive, ascending or descending. */
export function builtin_numbers_range(a: usize, b: usize): usize {
  if (!fitsI64(a) || !fitsI64(b)) return bigRange('numbers.range', a, b, makeNumberI64(1));
  const x = needInt('numbers.range', 1, a);
  const y = needInt('numbers.range', 2, b);
  // The distance as unsigned: y - x may not fit i64.
  const span: u64 = x <= y ? <u64>y - <u64>x : <u64>x - <u64>y;
  if (span >= 10000000) fail('numbers.range', 'range too large');
  const n = <i64>span + 1;
  const r = makeArray(<usize>n);
  for (let k: i64 = 0; k < n; k++) arrayAppend(r, makeNumberI64(x <= y ? x + k : x - k));
  return r;
}

/** numbers.range_step(a, b, step): from a towards b by a positive step. */
export function builtin_numbers_range_step(a: usize, b: usize, s: usize): usize {
  if (!fitsI64(a) || !fitsI64(b) || !fitsI64(s)) return bigRange('numbers.range_step', a, b, s);
  const x = needInt('numbers.range_step', 1, a);
  const y = needInt('numbers.range_step', 2, b);
  const step = needInt('numbers.range_step', 3, s);
  if (step <= 0) fail('numbers.range_step', 'step must be a positive integer');
  const span: u64 = x <= y ? <u64>y - <u64>x : <u64>x - <u64>y;
  const count = span / <u64>step + 1;
  if (count > 10000000) fail('numbers.range_step', 'range too large');
  const n = <i64>count;
  const r = makeArray(<usize>n);
  for (let k: i64 = 0; k < n; k++) arrayAppend(r, makeNumberI64(x <= y ? x + k * step : x - k * step));
  return r;
}

/** A number that is not an integer beyond i64 (non-integers go to needInt's type error). */
function fitsI64(v: usize): bool {
  return load<u8>(v) != TYPE_NUMBER || !numberIsInteger(v) || numberIsI64(v);
}

const MAX_RANGE: i32 = 10000000;

/** The range with an operand beyond i64: exact integer steps from a towards b. */
function bigRange(name: string, a: usize, b: usize, s: usize): usize {
  needNumber(name, 1, a);
  needNumber(name, 2, b);
  needNumber(name, 3, s);
  for (let i = 1; i <= 3; i++) {
    const v = i == 1 ? a : i == 2 ? b : s;
    if (!numberIsInteger(v)) needInt(name, i, v);
  }
  const x = numberAsInteger(a);
  const y = numberAsInteger(b);
  const step = numberAsInteger(s);
  const zero = makeNumberI64(0);
  if (compareNumbers(step, zero) <= 0) fail(name, 'step must be a positive integer');
  const up = compareNumbers(x, y) <= 0;
  // More than MAX_RANGE steps apart: refused before anything is built.
  const span = up ? numSub(y, x) : numSub(x, y);
  if (compareNumbers(span, numMul(step, makeNumberI64(MAX_RANGE))) >= 0) fail(name, 'range too large');
  const r = makeArray(16);
  let cur = x;
  let n: i32 = 0;
  while (up ? compareNumbers(cur, y) <= 0 : compareNumbers(cur, y) >= 0) {
    if (++n > MAX_RANGE) fail(name, 'range too large');
    arrayAppend(r, cur);
    cur = up ? numAdd(cur, step) : numSub(cur, step);
  }
  return r;
}
