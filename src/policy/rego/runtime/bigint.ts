// Exact integer arithmetic beyond i64 (Rego integers are arbitrary
// precision): decimal digit strings, schoolbook algorithms. Only reached when
// an operand is a BIGINT or an i64 operation overflows.

import { alloc } from './memory';
import { NUM_INT } from './value';
import { parseNumberText } from './number';

// The magnitude digits and sign of the operand last decomposed.
let dPtr: usize = 0;
let dLen: usize = 0;
let dNeg = false;

/** Decomposes an integer number value (INT or BIGINT) into dPtr/dLen/dNeg. */
function digitsOf(v: usize): void {
  if (load<u8>(v, 1) == NUM_INT) {
    const x = load<i64>(v, 8);
    dNeg = x < 0;
    let u: u64 = dNeg ? <u64>(0 - x) : <u64>x;
    const buf = alloc(20);
    let n: usize = 0;
    do {
      store<u8>(buf + 19 - n, <u8>(0x30 + <u32>(u % 10)));
      u /= 10;
      n++;
    } while (u != 0);
    dPtr = buf + 20 - n;
    dLen = n;
    return;
  }
  const p = <usize>load<u32>(v, 16);
  const n = <usize>load<u32>(v, 4);
  dNeg = load<u8>(p) == 0x2d;
  dPtr = dNeg ? p + 1 : p;
  dLen = dNeg ? n - 1 : n;
}

function cmpMag(ap: usize, al: usize, bp: usize, bl: usize): i32 {
  if (al != bl) return al < bl ? -1 : 1;
  for (let i: usize = 0; i < al; i++) {
    const x = load<u8>(ap + i);
    const y = load<u8>(bp + i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The number for sign + magnitude digits in [p, p+n) (leading zeros allowed). */
function finish(neg: bool, p: usize, n: usize): usize {
  while (n > 1 && load<u8>(p) == 0x30) { p++; n--; }
  if (n == 1 && load<u8>(p) == 0x30) neg = false;
  const text = alloc(n + 1);
  let at = text;
  if (neg) store<u8>(at++, 0x2d);
  memory.copy(at, p, n);
  return parseNumberText(text, n + (neg ? 1 : 0));
}

function addMag(neg: bool, ap: usize, al: usize, bp: usize, bl: usize): usize {
  const n = (al > bl ? al : bl) + 1;
  const out = alloc(n);
  let carry: u32 = 0;
  for (let i: usize = 0; i < n; i++) {
    let s = carry;
    if (i < al) s += <u32>load<u8>(ap + al - 1 - i) - 0x30;
    if (i < bl) s += <u32>load<u8>(bp + bl - 1 - i) - 0x30;
    store<u8>(out + n - 1 - i, <u8>(0x30 + s % 10));
    carry = s / 10;
  }
  return finish(neg, out, n);
}

/** |a| - |b| with |a| >= |b|. */
function subMag(neg: bool, ap: usize, al: usize, bp: usize, bl: usize): usize {
  const out = alloc(al);
  let borrow: i32 = 0;
  for (let i: usize = 0; i < al; i++) {
    let d = <i32>load<u8>(ap + al - 1 - i) - 0x30 - borrow;
    if (i < bl) d -= <i32>load<u8>(bp + bl - 1 - i) - 0x30;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 10;
    store<u8>(out + al - 1 - i, <u8>(0x30 + d));
  }
  return finish(neg, out, al);
}

/** a + b, or a - b when `negateB`, for integer operands. */
export function bigAddSub(a: usize, b: usize, negateB: bool): usize {
  digitsOf(a);
  const ap = dPtr, al = dLen, an = dNeg;
  digitsOf(b);
  const bp = dPtr, bl = dLen;
  const bn = negateB ? !dNeg : dNeg;
  if (an == bn) return addMag(an, ap, al, bp, bl);
  const c = cmpMag(ap, al, bp, bl);
  if (c >= 0) return subMag(an, ap, al, bp, bl);
  return subMag(bn, bp, bl, ap, al);
}

/** a * b for integer operands. */
export function bigMul(a: usize, b: usize): usize {
  digitsOf(a);
  const ap = dPtr, al = dLen, an = dNeg;
  digitsOf(b);
  const bp = dPtr, bl = dLen, bn = dNeg;
  const n = al + bl;
  const acc = alloc(n << 2);
  memory.fill(acc, 0, n << 2);
  for (let i: usize = 0; i < al; i++) {
    const x = <u32>load<u8>(ap + al - 1 - i) - 0x30;
    if (x == 0) continue;
    for (let j: usize = 0; j < bl; j++) {
      const slot = acc + ((i + j) << 2);
      store<u32>(slot, load<u32>(slot) + x * (<u32>load<u8>(bp + bl - 1 - j) - 0x30));
    }
    // Keep the accumulators small: propagate carries after each row.
    let carry: u32 = 0;
    for (let k: usize = 0; k < n; k++) {
      const slot = acc + (k << 2);
      const s = load<u32>(slot) + carry;
      store<u32>(slot, s % 10);
      carry = s / 10;
    }
  }
  const out = alloc(n);
  for (let k: usize = 0; k < n; k++) store<u8>(out + n - 1 - k, <u8>(0x30 + load<u32>(acc + (k << 2))));
  return finish(an != bn, out, n);
}

/** a % b for integer operands (b non-zero): truncated, with the sign of a, as Go's big.Int Rem. */
export function bigRem(a: usize, b: usize): usize {
  digitsOf(a);
  const ap = dPtr, al = dLen, an = dNeg;
  digitsOf(b);
  const bp = dPtr, bl = dLen;
  // The running remainder, bl + 1 digits wide with leading zeros.
  const w = bl + 1;
  const r = alloc(w);
  memory.fill(r, 0x30, w);
  for (let i: usize = 0; i < al; i++) {
    memory.copy(r, r + 1, w - 1);
    store<u8>(r + w - 1, load<u8>(ap + i));
    while (cmpWide(r, w, bp, bl) >= 0) subInPlace(r, w, bp, bl);
  }
  return finish(an, r, w);
}

/** Compares the fixed-width digits [r, r+w) (leading zeros) with the magnitude [bp, bp+bl). */
function cmpWide(r: usize, w: usize, bp: usize, bl: usize): i32 {
  let s: usize = 0;
  while (s < w - bl && load<u8>(r + s) == 0x30) s++;
  if (w - s > bl) return 1;
  return cmpMag(r + w - bl, bl, bp, bl);
}

/** [r, r+w) -= [bp, bp+bl), in place (the result is not negative). */
function subInPlace(r: usize, w: usize, bp: usize, bl: usize): void {
  let borrow: i32 = 0;
  for (let i: usize = 0; i < w; i++) {
    let d = <i32>load<u8>(r + w - 1 - i) - 0x30 - borrow;
    if (i < bl) d -= <i32>load<u8>(bp + bl - 1 - i) - 0x30;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 10;
    store<u8>(r + w - 1 - i, <u8>(0x30 + d));
  }
}
