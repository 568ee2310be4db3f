// Minimal unsigned big integers for exact results (units.parse of large
// amounts): a heap block holding a limb count (u32) then 32-bit limbs,
// least significant first, with a fixed capacity chosen by the caller.

import { allocZero } from '../memory';
import { bufNew, bufByte, bufPtr, bufLen } from './util';

/** A zero with room for `limbs` limbs. */
export function bigNew(limbs: usize): usize {
  const b = allocZero(4 + (limbs << 2));
  return b;
}

// @ts-ignore: decorator
@inline function limbCount(b: usize): usize { return <usize>load<u32>(b); }
// @ts-ignore: decorator
@inline function limb(b: usize, i: usize): u32 { return load<u32>(b + 4 + (i << 2)); }
// @ts-ignore: decorator
@inline function setLimb(b: usize, i: usize, v: u32): void { store<u32>(b + 4 + (i << 2), v); }

/** b = b * m + add. */
export function bigMulAdd(b: usize, m: u32, add: u32): void {
  let carry = <u64>add;
  const n = limbCount(b);
  for (let i: usize = 0; i < n; i++) {
    const x = <u64>limb(b, i) * <u64>m + carry;
    setLimb(b, i, <u32>x);
    carry = x >> 32;
  }
  if (carry != 0) {
    setLimb(b, n, <u32>carry);
    store<u32>(b, <u32>(n + 1));
  }
}

/** b = b / d; returns the remainder. */
export function bigDivSmall(b: usize, d: u32): u32 {
  let rem: u64 = 0;
  let n = limbCount(b);
  for (let i = n; i > 0; i--) {
    const x = (rem << 32) | <u64>limb(b, i - 1);
    setLimb(b, i - 1, <u32>(x / <u64>d));
    rem = x % <u64>d;
  }
  while (n > 0 && limb(b, n - 1) == 0) n--;
  store<u32>(b, <u32>n);
  return <u32>rem;
}

export function bigIsZero(b: usize): bool {
  return limbCount(b) == 0;
}

/** A copy with the same capacity. */
export function bigCopy(b: usize, limbs: usize): usize {
  const c = bigNew(limbs);
  memory.copy(c, b, 4 + (limbCount(b) << 2));
  return c;
}

/** Appends the decimal digits of `b` (destroys it) to the buffer `out`. */
export function bigToDecimal(b: usize, out: usize): void {
  if (bigIsZero(b)) { bufByte(out, 0x30); return; }
  const tmp = bufNew(32);
  while (!bigIsZero(b)) {
    let r = bigDivSmall(b, 1000000000);
    const last = bigIsZero(b);
    for (let k = 0; k < 9; k++) {
      if (last && r == 0) break;
      bufByte(tmp, 0x30 + r % 10);
      r /= 10;
    }
  }
  const p = bufPtr(tmp);
  for (let i = bufLen(tmp); i > 0; i--) bufByte(out, load<u8>(p + i - 1));
}
