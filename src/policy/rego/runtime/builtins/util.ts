// Helpers shared by the builtins: operand checks with OPA's type errors,
// UTF-8 decoding and encoding, a growable byte buffer on the heap, and
// small conversions. Raw memory only (see ../README.md).

import {
  TYPE_NUMBER, TYPE_STRING, TYPE_ARRAY, TYPE_OBJECT, TYPE_SET, NUM_INT,
  makeStringRef, stringLen, stringPtr, makeNumberI64,
} from '../value';
import { numberIsInteger, numberToF64, numberIsI64, numberToI64 } from '../number';
import { alloc, grow } from '../memory';
import { typeError } from '../errors';
import { msgBegin, msgStr, msgAbort } from '../abort';

// ---- operand checks ----------------------------------------------------

export function needString(name: string, i: i32, v: usize): void {
  if (load<u8>(v) != TYPE_STRING) typeError(name, i, 'string', v);
}

export function needNumber(name: string, i: i32, v: usize): void {
  if (load<u8>(v) != TYPE_NUMBER) typeError(name, i, 'number', v);
}

export function needArray(name: string, i: i32, v: usize): void {
  if (load<u8>(v) != TYPE_ARRAY) typeError(name, i, 'array', v);
}

export function needObject(name: string, i: i32, v: usize): void {
  if (load<u8>(v) != TYPE_OBJECT) typeError(name, i, 'object', v);
}

export function needSet(name: string, i: i32, v: usize): void {
  if (load<u8>(v) != TYPE_SET) typeError(name, i, 'set', v);
}

/** An integer operand as i64; OPA's error when it is not a number or not integral. */
export function needInt(name: string, i: i32, v: usize): i64 {
  needNumber(name, i, v);
  if (!numberIsInteger(v) || !numberIsI64(v)) {
    msgBegin();
    msgStr('eval_type_error: ');
    msgStr(name);
    msgStr(': operand ');
    msgStr(i == 1 ? '1' : i == 2 ? '2' : i == 3 ? '3' : '4');
    msgStr(' must be integer number but got floating-point number');
    msgAbort();
  }
  return numberToI64(v);
}

/** True for a number holding an i64 integer (INT representation or integral). */
export function isIntValue(v: usize): bool {
  return load<u8>(v) == TYPE_NUMBER && (load<u8>(v, 1) == NUM_INT || (numberIsInteger(v) && numberIsI64(v)));
}

export function numberAsF64(v: usize): f64 {
  return numberToF64(v);
}

// ---- UTF-8 -------------------------------------------------------------

/**
 * Bytes taken by the code point at `p` (at most `n` available), validated as
 * Go's utf8.DecodeRune does: an invalid or truncated sequence takes 1 byte
 * (and decodes as U+FFFD).
 */
export function stepAt(p: usize, n: usize): usize {
  const b = <u32>load<u8>(p);
  if (b < 0x80) return 1;
  let w: usize;
  let lo: u32 = 0x80;
  let hi: u32 = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) w = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    w = 3;
    if (b == 0xe0) lo = 0xa0;
    else if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    w = 4;
    if (b == 0xf0) lo = 0x90;
    else if (b == 0xf4) hi = 0x8f;
  } else return 1;
  if (w > n) return 1;
  const c1 = <u32>load<u8>(p + 1);
  if (c1 < lo || c1 > hi) return 1;
  for (let i: usize = 2; i < w; i++) {
    const c = <u32>load<u8>(p + i);
    if (c < 0x80 || c > 0xbf) return 1;
  }
  return w;
}

/** Decodes the code point at `p` (at most `n` bytes available); invalid bytes decode as U+FFFD. */
export function decodeAt(p: usize, n: usize): u32 {
  const b = <u32>load<u8>(p);
  if (b < 0x80) return b;
  const w = stepAt(p, n);
  if (w == 1) return 0xfffd;
  let cp: u32 = w == 2 ? b & 0x1f : w == 3 ? b & 0x0f : b & 0x07;
  for (let i: usize = 1; i < w; i++) cp = (cp << 6) | (<u32>load<u8>(p + i) & 0x3f);
  return cp;
}

export function utf8Len(cp: u32): usize {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** Writes `cp` at `out`; returns the bytes written. */
export function encodeAt(out: usize, cp: u32): usize {
  if (cp < 0x80) { store<u8>(out, <u8>cp); return 1; }
  if (cp < 0x800) {
    store<u8>(out, <u8>(0xc0 | (cp >> 6)));
    store<u8>(out + 1, <u8>(0x80 | (cp & 0x3f)));
    return 2;
  }
  if (cp < 0x10000) {
    store<u8>(out, <u8>(0xe0 | (cp >> 12)));
    store<u8>(out + 1, <u8>(0x80 | ((cp >> 6) & 0x3f)));
    store<u8>(out + 2, <u8>(0x80 | (cp & 0x3f)));
    return 3;
  }
  store<u8>(out, <u8>(0xf0 | (cp >> 18)));
  store<u8>(out + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
  store<u8>(out + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
  store<u8>(out + 3, <u8>(0x80 | (cp & 0x3f)));
  return 4;
}

/** Byte offset of code point index `k` in [p, p+n) (n when beyond the end). */
export function byteOffsetOfCodePoint(p: usize, n: usize, k: i64): usize {
  let off: usize = 0;
  let i: i64 = 0;
  while (off < n && i < k) {
    off += stepAt(p + off, n - off);
    i++;
  }
  return off;
}

/** Number of code points in [p, p+n), counted as decodeAt/stepAt see them. */
export function codePointCount(p: usize, n: usize): i64 {
  let off: usize = 0;
  let i: i64 = 0;
  while (off < n) {
    off += stepAt(p + off, n - off);
    i++;
  }
  return i;
}

// ---- byte buffer -------------------------------------------------------
// A buffer is a 16-byte header on the heap: data ptr @0, len @4, cap @8.
// It grows in place while it is the last allocation.

export function bufNew(cap: usize): usize {
  if (cap < 16) cap = 16;
  const b = alloc(16);
  store<u32>(b, <u32>alloc(cap), 0);
  store<u32>(b, 0, 4);
  store<u32>(b, <u32>cap, 8);
  return b;
}

// @ts-ignore: decorator
@inline export function bufPtr(b: usize): usize { return <usize>load<u32>(b); }
// @ts-ignore: decorator
@inline export function bufLen(b: usize): usize { return <usize>load<u32>(b, 4); }

/** Makes room for `n` more bytes. */
export function bufReserve(b: usize, n: usize): void {
  const len = bufLen(b);
  const cap = <usize>load<u32>(b, 8);
  if (len + n <= cap) return;
  let ncap = cap * 2;
  if (ncap < len + n) ncap = len + n + 16;
  store<u32>(b, <u32>grow(bufPtr(b), len, ncap), 0);
  store<u32>(b, <u32>ncap, 8);
}

export function bufByte(b: usize, c: u32): void {
  bufReserve(b, 1);
  const len = bufLen(b);
  store<u8>(bufPtr(b) + len, <u8>c);
  store<u32>(b, <u32>(len + 1), 4);
}

export function bufBytes(b: usize, p: usize, n: usize): void {
  if (n == 0) return;
  bufReserve(b, n);
  const len = bufLen(b);
  memory.copy(bufPtr(b) + len, p, n);
  store<u32>(b, <u32>(len + n), 4);
}

export function bufCodePoint(b: usize, cp: u32): void {
  bufReserve(b, 4);
  const len = bufLen(b);
  store<u32>(b, <u32>(len + encodeAt(bufPtr(b) + len, cp)), 4);
}

/** Appends an ASCII literal. */
export function bufLit(b: usize, s: string): void {
  const p = changetype<usize>(s);
  const n = <usize>s.length;
  for (let i: usize = 0; i < n; i++) bufByte(b, <u32>load<u16>(p + (i << 1)));
}

export function bufStr(b: usize, v: usize): void {
  bufBytes(b, stringPtr(v), stringLen(v));
}

/** Appends the decimal text of `x`. */
export function bufI64(b: usize, x: i64): void {
  let u: u64;
  if (x < 0) { bufByte(b, 0x2d); u = <u64>(0 - x); } else u = <u64>x;
  bufU64(b, u);
}

export function bufU64(b: usize, u: u64): void {
  bufReserve(b, 20);
  const len = bufLen(b);
  const out = bufPtr(b) + len;
  let n: usize = 0;
  let t = u;
  do { n++; t /= 10; } while (t != 0);
  for (let i: usize = n; i > 0; i--) {
    store<u8>(out + i - 1, <u8>(0x30 + <u32>(u % 10)));
    u /= 10;
  }
  store<u32>(b, <u32>(len + n), 4);
}

/** The buffer's bytes as a string value (not copied). */
export function bufToString(b: usize): usize {
  return makeStringRef(bufPtr(b), bufLen(b));
}

// ---- small things ------------------------------------------------------

/** True when [p, p+n) equals the ASCII literal `s`. */
export function bytesEqualLit(p: usize, n: usize, s: string): bool {
  if (<usize>s.length != n) return false;
  const q = changetype<usize>(s);
  for (let i: usize = 0; i < n; i++) if (<u32>load<u8>(p + i) != <u32>load<u16>(q + (i << 1))) return false;
  return true;
}

/** True when [p, p+n) equals the ASCII literal `s`, ignoring ASCII case. */
export function bytesEqualLitFold(p: usize, n: usize, s: string): bool {
  if (<usize>s.length != n) return false;
  const q = changetype<usize>(s);
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(p + i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c != <u32>load<u16>(q + (i << 1))) return false;
  }
  return true;
}

/** Index of [np, np+nn) in [hp, hp+hn) at or after `from`, or -1. */
export function bytesIndexOf(hp: usize, hn: usize, np: usize, nn: usize, from: usize): isize {
  if (nn == 0) return from <= hn ? <isize>from : -1;
  if (nn > hn) return -1;
  const first = load<u8>(np);
  const last = hn - nn;
  for (let i = from; i <= last; i++) {
    if (load<u8>(hp + i) == first && memory.compare(hp + i + 1, np + 1, nn - 1) == 0) return <isize>i;
  }
  return -1;
}

export function bytesHasPrefix(p: usize, n: usize, q: usize, m: usize): bool {
  return m <= n && memory.compare(p, q, m) == 0;
}

export function bytesHasSuffix(p: usize, n: usize, q: usize, m: usize): bool {
  return m <= n && memory.compare(p + n - m, q, m) == 0;
}

export function intValue(x: i64): usize {
  return makeNumberI64(x);
}

/** Aborts with `eval_builtin_error: <name>: <message>`. */
export function fail(name: string, message: string): void {
  msgBegin();
  msgStr('eval_builtin_error: ');
  msgStr(name);
  msgStr(': ');
  msgStr(message);
  msgAbort();
}

/** Aborts with `eval_type_error: <name>: <message>`. */
export function failType(name: string, message: string): void {
  msgBegin();
  msgStr('eval_type_error: ');
  msgStr(name);
  msgStr(': ');
  msgStr(message);
  msgAbort();
}
