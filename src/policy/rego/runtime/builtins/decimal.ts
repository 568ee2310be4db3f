// Decimal digits of a float for Go-style formatting: the shortest digits
// that read back as the same float (%v, %g), or the exact expansion rounded
// half-to-even to a number of digits (%e, %f, %g with a precision), as Go's
// strconv does. Results: `decDigits` (ASCII, no leading zeros), `decCount`,
// `decPoint` (value = 0.DIGITS × 10^decPoint).

import { alloc } from '../memory';
import { dtoa_buffered } from 'util/number';
import { bufNew, bufByte, bufPtr, bufLen } from './util';
import { bigNew, bigMulAdd, bigToDecimal } from './bignum';
import { nearestF64, decimalOfDigits } from '../exact-decimal';

export let decDigits: usize = 0;
export let decCount: i32 = 0;
export let decPoint: i32 = 0;

/** The digits of zero: none. */
export function zeroDigits(): void {
  decCount = 0;
  decPoint = 0;
}

/** Shortest round-trip digits of |f| (f finite, non-zero). */
export function shortestDigits(f: f64): void {
  const buf = alloc(128);
  const n = <usize>dtoa_buffered(buf, Math.abs(f));
  const d = bufNew(32);
  let point: i32 = -1;
  let exp: i32 = 0;
  let i: usize = 0;
  let seen: i32 = 0; // characters of the mantissa read
  for (; i < n; i++) {
    const c = <u32>load<u16>(buf + (i << 1));
    if (c == 0x2e) { point = seen; continue; }
    if (c == 0x65) break;
    bufByte(d, c);
    seen++;
  }
  if (i < n) {
    i++;
    let neg = false;
    if (<u32>load<u16>(buf + (i << 1)) == 0x2d) { neg = true; i++; } else if (<u32>load<u16>(buf + (i << 1)) == 0x2b) i++;
    for (; i < n; i++) exp = exp * 10 + <i32>(load<u16>(buf + (i << 1)) - 0x30);
    if (neg) exp = -exp;
  }
  if (point < 0) point = seen;
  normalise(bufPtr(d), <i32>bufLen(d), point + exp);
  // The runtime's dtoa (Grisu) can miss the shortest form (1e23 came out as
  // 9.999999999999999e+22): a long result is checked against every shorter
  // rounding of the exact expansion, the first that reads back wins.
  if (decCount < 16) return;
  const a = Math.abs(f);
  const long = decCount;
  const longDigits = decDigits;
  const longPoint = decPoint;
  for (let k = 1; k < long; k++) {
    exactDigits(a);
    roundDigits(k);
    if (nearestF64(decimalOfDigits(decDigits, decCount, decPoint), a) == a) return;
  }
  decDigits = longDigits;
  decCount = long;
  decPoint = longPoint;
}

/** Strips leading and trailing zeros from digits [p, p+n) with the point after `point` digits. */
function normalise(p: usize, n: i32, point: i32): void {
  let s = 0;
  while (s < n && load<u8>(p + <usize>s) == 0x30) { s++; point--; }
  let e = n;
  while (e > s && load<u8>(p + <usize>(e - 1)) == 0x30) e--;
  decDigits = p + <usize>s;
  decCount = e - s;
  decPoint = decCount == 0 ? 0 : point;
}

/** The exact decimal expansion of |f| (f finite, non-zero). */
export function exactDigits(f: f64): void {
  const bits = reinterpret<u64>(Math.abs(f));
  let exp = <i32>((bits >> 52) & 0x7ff);
  let mant = bits & 0xfffffffffffff;
  if (exp == 0) exp = 1; else mant |= <u64>1 << 52;
  exactDigitsOf(mant, exp - 1075);
}

/** The exact decimal expansion of mant × 2^exp (mant < 2^63, non-zero). */
export function exactDigitsOf(mant: u64, exp: i32): void {
  const limbs = <usize>(exp >= 0 ? (exp + 64) / 32 + 4 : ((-exp) * 233 / 100 + 64) / 32 + 4);
  const big = bigNew(limbs);
  bigMulAdd(big, 0, <u32>(mant >> 32));
  for (let k = 0; k < 32; k++) bigMulAdd(big, 2, 0);
  bigMulAdd(big, 1, <u32>(mant & 0xffffffff));
  let shift: i32 = 0;
  if (exp >= 0) for (let k = 0; k < exp; k++) bigMulAdd(big, 2, 0);
  else {
    // mant / 2^k = mant × 5^k / 10^k
    for (let k = 0; k < -exp; k++) bigMulAdd(big, 5, 0);
    shift = -exp;
  }
  const out = bufNew(64);
  bigToDecimal(big, out);
  normalise(bufPtr(out), <i32>bufLen(out), <i32>bufLen(out) - shift);
}

/**
 * Rounds the digits to `keep` digits (half to even on the exact digits);
 * keep <= 0 rounds to zero or to one unit at position keep.
 */
export function roundDigits(keep: i32): void {
  if (keep >= decCount) return;
  if (keep < 0) { decCount = 0; decPoint = 0; return; }
  let up = false;
  const d = <u32>load<u8>(decDigits + <usize>keep);
  if (d > 0x35) up = true;
  else if (d == 0x35) {
    // Exactly half only if nothing follows the 5: then round to even.
    if (keep + 1 < decCount) up = true;
    else up = keep > 0 && (load<u8>(decDigits + <usize>(keep - 1)) - 0x30) % 2 == 1;
  }
  if (!up) {
    decCount = keep;
    while (decCount > 0 && load<u8>(decDigits + <usize>(decCount - 1)) == 0x30) decCount--;
    if (decCount == 0) decPoint = 0;
    return;
  }
  // Add one at position keep - 1, carrying.
  const copy = alloc(<usize>keep + 1);
  memory.copy(copy + 1, decDigits, <usize>keep);
  store<u8>(copy, 0x30);
  let i = keep;
  while (i > 0) {
    const c = load<u8>(copy + <usize>i);
    if (c == 0x39) { store<u8>(copy + <usize>i, 0x30); i--; continue; }
    store<u8>(copy + <usize>i, c + 1);
    break;
  }
  if (i == 0) store<u8>(copy, 0x31);
  normalise(copy, keep + 1, decPoint + 1);
}
