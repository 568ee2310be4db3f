// units.parse and units.parse_bytes: an amount (decimal, optionally with an
// exponent) and an SI or binary unit. Results are exact: integers of any
// size stay integers (as OPA computes with big floats), fractions of
// units.parse become the nearest float.

import { makeNumberText, makeNumberF64, stringLen, stringPtr } from '../value';
import { numberToF64 } from '../number';
import { needString, bufNew, bufByte, bufBytes, bufPtr, bufLen, bufLit, bufI64, fail } from './util';
import { bigNew, bigMulAdd, bigDivSmall, bigIsZero, bigCopy, bigToDecimal } from './bignum';
import { msgBegin, msgStr, msgBytes, msgAbort } from '../abort';

function isDigit(c: u32): bool { return c - 0x30 < 10; }

// The parsed amount: sign, significant digits [digits, digits+nDigits), and a power of ten.
let neg = false;
let digits: usize = 0;
let nDigits: usize = 0;
let decExp: i64 = 0;

/** Parses [p, p+n) as [+-]digits[.digits][(e|E)[+-]digits]; false if it is not one. */
function parseAmount(p: usize, n: usize): bool {
  let i: usize = 0;
  neg = false;
  if (i < n && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) { neg = load<u8>(p) == 0x2d; i++; }
  const d = bufNew(n);
  let seen = 0;
  let frac: i64 = 0;
  let dot = false;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (isDigit(c)) {
      seen++;
      if (bufLen(d) > 0 || c != 0x30) bufByte(d, c);
      if (dot) frac++;
    } else if (c == 0x2e && !dot) {
      dot = true;
    } else break;
    i++;
  }
  if (seen == 0) return false;
  let e: i64 = 0;
  if (i < n && (load<u8>(p + i) | 0x20) == 0x65) {
    i++;
    let eneg = false;
    if (i < n && (load<u8>(p + i) == 0x2b || load<u8>(p + i) == 0x2d)) { eneg = load<u8>(p + i) == 0x2d; i++; }
    const s = i;
    while (i < n && isDigit(load<u8>(p + i))) {
      if (e < 100000) e = e * 10 + <i64>(load<u8>(p + i) - 0x30);
      i++;
    }
    if (i == s) return false;
    if (eneg) e = -e;
  }
  if (i != n) return false;
  digits = bufPtr(d);
  nDigits = bufLen(d);
  decExp = e - frac;
  return true;
}

/**
 * OPA's split of "<amount><unit>": the amount runs over digits, '.', signs
 * and an exponent marker followed by a digit or sign. Returns the unit's start.
 */
function unitStart(p: usize, n: usize): usize {
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (isDigit(c) || c == 0x2e || c == 0x2b || c == 0x2d) continue;
    if (c == 0x65 || c == 0x45) {
      if (i == n - 1) return i;
      const next = <u32>load<u8>(p + i + 1);
      if (!isDigit(next) && next != 0x2b && next != 0x2d) return i;
      if (next == 0x2b || next == 0x2d) i++;
      continue;
    }
    return i;
  }
  return n;
}

/** The value digits × 10^(decExp + pow10) × 2^pow2, exact when integral (or truncated when `truncate`). */
function scaled(pow10: i64, pow2: i32, truncate: bool): usize {
  const e = decExp + pow10;
  if (nDigits == 0) return makeNumberText(ZERO, 1);
  if (e > 4000 || e < -4000 || nDigits > 4000) {
    // Out of any practical range: a float (possibly infinite, which then fails below).
    return floatOf(e, pow2);
  }
  const limbs = <usize>(((<i64>nDigits + (e > 0 ? e : 0)) * 34 / 10 + <i64>pow2 + 64) / 32 + 4);
  const x = bigNew(limbs);
  for (let i: usize = 0; i < nDigits; i++) bigMulAdd(x, 10, <u32>(load<u8>(digits + i) - 0x30));
  for (let k: i64 = 0; k < e; k++) bigMulAdd(x, 10, 0);
  for (let k: i32 = 0; k < pow2; k += 10) bigMulAdd(x, 1024, 0);
  if (e < 0) {
    const y = bigCopy(x, limbs);
    let exact = true;
    for (let k: i64 = 0; k < -e; k++) if (bigDivSmall(y, 10) != 0) exact = false;
    if (!exact && !truncate) return floatOf(e, pow2);
    return integerOf(y);
  }
  return integerOf(x);
}

const ZERO = memory.data<u8>([0x30]);

function integerOf(b: usize): usize {
  const out = bufNew(24);
  if (neg && !bigIsZero(b)) bufByte(out, 0x2d);
  bigToDecimal(b, out);
  return makeNumberText(bufPtr(out), bufLen(out));
}

function floatOf(e: i64, pow2: i32): usize {
  const t = bufNew(nDigits + 24);
  if (neg) bufByte(t, 0x2d);
  bufBytes(t, digits, nDigits);
  bufLit(t, 'e');
  bufI64(t, e);
  const v = makeNumberText(bufPtr(t), bufLen(t));
  const f = numberToF64(v) * Math.pow(2, <f64>pow2);
  if (!isFinite(f)) fail('units', 'amount out of range');
  return makeNumberF64(f);
}

function unitError(name: string, what: string, p: usize, n: usize): void {
  msgBegin();
  msgStr('eval_builtin_error: ');
  msgStr(name);
  msgStr(': ');
  msgStr(what);
  msgStr(' ');
  msgBytes(p, n);
  msgStr(' not recognized');
  msgAbort();
}

/** The string without '"' (and lower-cased for parse_bytes); spaces are refused. */
function normalize(name: string, s: usize, lower: bool): usize {
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n);
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(p + i);
    if (c == 0x22) continue;
    if (c == 0x20) fail(name, 'spaces not allowed in resource strings');
    if (lower && c >= 0x41 && c <= 0x5a) c |= 0x20;
    bufByte(b, c);
  }
  return b;
}

// Multipliers by unit letter: k m g t p e → 10^(3i) or 2^(10i).
function letterPower(c: u32): i32 {
  switch (c | 0x20) {
    case 0x6b: return 1; // k
    case 0x6d: return 2; // m
    case 0x67: return 3; // g
    case 0x74: return 4; // t
    case 0x70: return 5; // p
    case 0x65: return 6; // e
  }
  return 0;
}

export function builtin_units_parse_bytes(s: usize): usize {
  const name = 'units.parse_bytes';
  needString(name, 1, s);
  const b = normalize(name, s, true);
  const p = bufPtr(b);
  const n = bufLen(b);
  const u = unitStart(p, n);
  if (u == 0) fail(name, 'no byte amount provided');
  if (!parseAmount(p, u)) fail(name, 'could not parse byte amount to a number');
  const up = p + u;
  const un = n - u;
  if (un == 0) return scaled(0, 0, true);
  const k = letterPower(load<u8>(up));
  if (k > 0) {
    if (un == 1 || (un == 2 && load<u8>(up + 1) == 0x62)) return scaled(3 * k, 0, true);
    if ((un == 2 && load<u8>(up + 1) == 0x69) || (un == 3 && load<u8>(up + 1) == 0x69 && load<u8>(up + 2) == 0x62)) {
      return scaled(0, 10 * k, true);
    }
  }
  unitError(name, 'byte unit', up, un);
  return 0;
}

export function builtin_units_parse(s: usize): usize {
  const name = 'units.parse';
  needString(name, 1, s);
  const b = normalize(name, s, false);
  const p = bufPtr(b);
  const n = bufLen(b);
  const u = unitStart(p, n);
  if (u == 0) fail(name, 'no amount provided');
  if (!parseAmount(p, u)) fail(name, 'could not parse amount to a number');
  const up = p + u;
  const un = n - u;
  if (un == 0) return scaled(0, 0, false);
  // After the first letter the unit is case-insensitive: "KI" is "Ki".
  for (let i: usize = 1; i < un; i++) {
    const c = <u32>load<u8>(up + i);
    if (c >= 0x41 && c <= 0x5a) store<u8>(up + i, <u8>(c | 0x20));
  }
  const first = <u32>load<u8>(up);
  if (un == 1 && first == 0x6d) return scaled(-3, 0, false); // m: milli
  const k = letterPower(first);
  if (k > 0 && un == 1) return scaled(3 * k, 0, false);
  if (k > 0 && un == 2 && load<u8>(up + 1) == 0x69) return scaled(0, 10 * k, false);
  unitError(name, 'unit', up, un);
  return 0;
}

