// Exact decimal values for what a policy can observe of numbers beyond f64:
// OPA compares numbers exactly (1e400 > 1e399, 1e-400 > 0, decimals that
// differ in their 19th digit) and reads number text into the nearest f64.
// A decimal is a record: neg u8 @0, digit count u32 @4, point i32 @8,
// digits ptr u32 @12; value = ±0.DIGITS × 10^point, digits without leading
// or trailing zeros (zero has none).

import { alloc } from './memory';
import { NUM_INT, NUM_REF, NUM_BIGINT } from './value';
import { exactDigitsOf, shortestDigits, decDigits, decCount, decPoint } from './builtins/decimal';

function make(neg: bool, p: usize, n: i32, point: i32): usize {
  let s = 0;
  while (s < n && load<u8>(p + <usize>s) == 0x30) { s++; point--; }
  let e = n;
  while (e > s && load<u8>(p + <usize>(e - 1)) == 0x30) e--;
  const d = alloc(16);
  const count = e - s;
  store<u8>(d, count == 0 ? 0 : (neg ? 1 : 0));
  store<u32>(d, <u32>count, 4);
  store<i32>(d, count == 0 ? 0 : point, 8);
  store<u32>(d, <u32>(p + <usize>s), 12);
  return d;
}

/** The positive decimal 0.DIGITS × 10^point of the digits [p, p+n). */
export function decimalOfDigits(p: usize, n: i32, point: i32): usize {
  return make(false, p, n, point);
}

/** The decimal of valid JSON number text [ptr, ptr+len). */
export function decimalOfText(ptr: usize, len: usize): usize {
  const digits = alloc(len);
  let n: i32 = 0;
  let i: usize = 0;
  let neg = false;
  if (load<u8>(ptr) == 0x2d) { neg = true; i++; }
  let point: i32 = -1;
  for (; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (c == 0x2e) { point = n; continue; }
    if (c - 0x30 >= 10) break;
    store<u8>(digits + <usize>n, <u8>c);
    n++;
  }
  if (point < 0) point = n;
  if (i < len) {
    i++; // e or E
    let eneg = false;
    if (load<u8>(ptr + i) == 0x2d || load<u8>(ptr + i) == 0x2b) { eneg = load<u8>(ptr + i) == 0x2d; i++; }
    let e: i32 = 0;
    for (; i < len; i++) if (e < 100000000) e = e * 10 + <i32>(load<u8>(ptr + i) - 0x30);
    point += eneg ? -e : e;
  }
  return make(neg, digits, n, point);
}

export function decimalOfI64(x: i64): usize {
  const neg = x < 0;
  let u: u64 = neg ? <u64>(0 - x) : <u64>x;
  const buf = alloc(20);
  let n: i32 = 0;
  do {
    store<u8>(buf + 19 - <usize>n, <u8>(0x30 + <u32>(u % 10)));
    u /= 10;
    n++;
  } while (u != 0);
  return make(neg, buf + 20 - <usize>n, n, n);
}

/** The exact decimal of mant × 2^exp (mant < 2^63). */
function decimalOfBinary(mant: u64, exp: i32): usize {
  if (mant == 0) return make(false, 0, 0, 0);
  exactDigitsOf(mant, exp);
  return make(false, decDigits, decCount, decPoint);
}

/**
 * The decimal a computed float stands for: its shortest round-trip digits.
 * OPA computes with decimal-friendly big floats (units.parse("1e-2") is
 * 0.01 exactly), so a float result equals the literal it prints as.
 */
export function decimalOfF64(f: f64): usize {
  if (f == 0 || !isFinite(f)) return make(false, 0, 0, 0);
  shortestDigits(f);
  return make(f < 0, decDigits, decCount, decPoint);
}

/** The decimal of a number value (a computed float: see decimalOfF64). */
export function decimalOfNumber(v: usize): usize {
  const r = load<u8>(v, 1);
  if (r == NUM_INT) return decimalOfI64(load<i64>(v, 8));
  if (r == NUM_REF || r == NUM_BIGINT) return decimalOfText(<usize>load<u32>(v, 16), <usize>load<u32>(v, 4));
  return decimalOfF64(load<f64>(v, 8));
}

export function decimalIsZero(d: usize): bool { return load<u32>(d, 4) == 0; }
export function decimalIsNeg(d: usize): bool { return load<u8>(d) != 0; }
/** Mathematically an integer: no digit after the point. */
export function decimalIsInteger(d: usize): bool { return load<i32>(d, 8) >= <i32>load<u32>(d, 4); }

/** Magnitude order of two decimals. */
function compareMagnitude(a: usize, b: usize): i32 {
  const na = <i32>load<u32>(a, 4);
  const nb = <i32>load<u32>(b, 4);
  if (na == 0 || nb == 0) return na == nb ? 0 : na == 0 ? -1 : 1;
  const pa = load<i32>(a, 8);
  const pb = load<i32>(b, 8);
  if (pa != pb) return pa < pb ? -1 : 1;
  const da = <usize>load<u32>(a, 12);
  const db = <usize>load<u32>(b, 12);
  const n = na < nb ? na : nb;
  for (let i = 0; i < n; i++) {
    const x = load<u8>(da + <usize>i);
    const y = load<u8>(db + <usize>i);
    if (x != y) return x < y ? -1 : 1;
  }
  return na == nb ? 0 : na < nb ? -1 : 1;
}

export function compareDecimals(a: usize, b: usize): i32 {
  const sa = decimalIsZero(a) ? 0 : decimalIsNeg(a) ? -1 : 1;
  const sb = decimalIsZero(b) ? 0 : decimalIsNeg(b) ? -1 : 1;
  if (sa != sb) return sa < sb ? -1 : 1;
  return sa * compareMagnitude(a, b);
}

/**
 * The f64 nearest the decimal (ties to even), from an approximation a few
 * units in the last place away: the approximation moves to a neighbour while
 * the decimal lies beyond the midpoint between them, as a correct strtod.
 * Overflow is ±Infinity, underflow ±0.
 */
export function nearestF64(d: usize, approx: f64): f64 {
  if (decimalIsZero(d)) return 0;
  const neg = decimalIsNeg(d);
  store<u8>(d, 0); // compare magnitudes against positive midpoints
  let f = Math.abs(approx);
  if (isNaN(f)) f = Infinity;
  for (let round = 0; round < 64; round++) {
    if (f == Infinity) {
      // Above the midpoint between the largest finite f64 and 2^1024 it is infinite.
      const c = compareDecimals(d, decimalOfBinary(<u64>0x3fffffffffffff, 970));
      if (c >= 0) break;
      f = f64.MAX_VALUE;
      continue;
    }
    const bits = reinterpret<u64>(f);
    const e = <i32>((bits >> 52) & 0x7ff);
    let m = bits & 0xfffffffffffff;
    let exp: i32;
    if (e == 0) exp = -1074; else { m |= <u64>1 << 52; exp = e - 1075; }
    // Above: (2m + 1) × 2^(exp-1).
    const up = compareDecimals(d, decimalOfBinary((m << 1) + 1, exp - 1));
    if (up > 0 || (up == 0 && (m & 1) == 1)) { f = reinterpret<f64>(bits + 1); continue; }
    if (up == 0 || m == 0) break;
    // Below: (2m - 1) × 2^(exp-1), or a quarter step at the bottom of a binade.
    const atBinade = m == (<u64>1 << 52) && e > 1;
    const low = atBinade ? decimalOfBinary((m << 2) - 1, exp - 2) : decimalOfBinary((m << 1) - 1, exp - 1);
    const down = compareDecimals(d, low);
    if (down < 0 || (down == 0 && (m & 1) == 1)) { f = reinterpret<f64>(bits - 1); continue; }
    break;
  }
  store<u8>(d, neg ? 1 : 0);
  return neg ? -f : f;
}
