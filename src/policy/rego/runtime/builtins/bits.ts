// Bitwise builtins on integers (two's complement, as Go's big.Int shows
// them): bits.and, bits.or, bits.xor, bits.negate, bits.lsh, bits.rsh.
// A left shift beyond i64 stays exact.

import { makeNumberI64, makeNumberText } from '../value';
import { needInt, failType, bufNew, bufByte, bufPtr, bufLen } from './util';
import { bigNew, bigMulAdd, bigToDecimal } from './bignum';

export function builtin_bits_and(a: usize, b: usize): usize {
  return makeNumberI64(needInt('bits.and', 1, a) & needInt('bits.and', 2, b));
}

export function builtin_bits_or(a: usize, b: usize): usize {
  return makeNumberI64(needInt('bits.or', 1, a) | needInt('bits.or', 2, b));
}

export function builtin_bits_xor(a: usize, b: usize): usize {
  return makeNumberI64(needInt('bits.xor', 1, a) ^ needInt('bits.xor', 2, b));
}

export function builtin_bits_negate(a: usize): usize {
  return makeNumberI64(~needInt('bits.negate', 1, a));
}

function shiftCount(name: string, b: usize): i64 {
  const k = needInt(name, 2, b);
  if (k < 0) failType(name, 'operand 2 must be an unsigned integer number but got a negative integer');
  return k;
}

export function builtin_bits_lsh(a: usize, b: usize): usize {
  const x = needInt('bits.lsh', 1, a);
  const k = shiftCount('bits.lsh', b);
  if (x == 0) return makeNumberI64(0);
  const mag: u64 = x < 0 ? <u64>(0 - x) : <u64>x;
  if (k < 63 && (mag >> <u64>(63 - k)) == 0) return makeNumberI64(x << k);
  if (k > 100000) failType('bits.lsh', 'shift count too large');
  // |x| from its two halves, then shifted.
  const b2 = bigNew(<usize>(k / 32 + 4));
  bigMulAdd(b2, 0, <u32>(mag >> 32));
  for (let i = 0; i < 32; i++) bigMulAdd(b2, 2, 0);
  bigMulAdd(b2, 1, <u32>(mag & 0xffffffff));
  for (let i: i64 = 0; i < k; i++) bigMulAdd(b2, 2, 0);
  const out = bufNew(32);
  if (x < 0) bufByte(out, 0x2d);
  bigToDecimal(b2, out);
  return makeNumberText(bufPtr(out), bufLen(out));
}

export function builtin_bits_rsh(a: usize, b: usize): usize {
  const x = needInt('bits.rsh', 1, a);
  const k = shiftCount('bits.rsh', b);
  return makeNumberI64(k >= 64 ? (x < 0 ? -1 : 0) : x >> k);
}
