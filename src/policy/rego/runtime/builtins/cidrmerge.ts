// net.cidr_merge: the smallest set of CIDRs covering the given networks and
// addresses. As in OPA, an IPv4 address without a prefix stands for its
// classful network (/8, /16 or /24) and an IPv6 one is an error. Addresses
// are handled as 128-bit numbers (hi, lo); IPv4 ones use the low 32 bits.

import {
  TYPE_STRING, TYPE_ARRAY, TYPE_SET, makeSet, setAdd, arrayLen, arrayGet, setLen, setAt, stringLen, stringPtr,
} from '../value';
import { alloc } from '../memory';
import { typeError } from '../errors';
import { msgBegin, msgStr, msgBytes, msgAbort } from '../abort';
import { bufNew, bufByte, bufU64, bufToString, fail } from './util';
import { parseIPAddress, parseCIDRAddress, formatIPAddress } from './net';

// A range (40 bytes): family (4 or 16) @0, first hi @8, first lo @16, last hi @24, last lo @32.
const RANGE: usize = 40;

function invalid(s: usize): void {
  msgBegin();
  msgStr('eval_builtin_error: net.cidr_merge: invalid CIDR address: ');
  msgBytes(stringPtr(s), stringLen(s));
  msgAbort();
}

/** Reads a parsed address record (16 bytes, length @16, bits @20) into a range. */
function toRange(a: usize, r: usize): void {
  const len = <usize>load<u32>(a, 16);
  const bits = load<u32>(a, 20);
  let hi: u64 = 0;
  let lo: u64 = 0;
  if (len == 4) lo = <u64>bswap<u32>(load<u32>(a));
  else { hi = bswap<u64>(load<u64>(a)); lo = bswap<u64>(load<u64>(a, 8)); }
  const host = len * 8 - bits;
  // Network address (host bits cleared) and last address (host bits set).
  let mhi: u64 = 0;
  let mlo: u64 = 0;
  if (host >= 128) { mhi = ~(<u64>0); mlo = ~(<u64>0); }
  else if (host >= 64) { mlo = ~(<u64>0); mhi = host == 64 ? 0 : (~(<u64>0)) >> (128 - <u64>host); }
  else if (host > 0) mlo = (~(<u64>0)) >> (64 - <u64>host);
  store<u32>(r, <u32>len);
  store<u64>(r, hi & ~mhi, 8);
  store<u64>(r, lo & ~mlo, 16);
  store<u64>(r, hi | mhi, 24);
  store<u64>(r, lo | mlo, 32);
}

function less(a: usize, b: usize): bool {
  const fa = load<u32>(a);
  const fb = load<u32>(b);
  if (fa != fb) return fa < fb;
  const ha = load<u64>(a, 8);
  const hb = load<u64>(b, 8);
  if (ha != hb) return ha < hb;
  return load<u64>(a, 16) < load<u64>(b, 16);
}

/** hi:lo <= hi2:lo2 + 1 (adjacent or overlapping when used as last/first). */
function touches(lastHi: u64, lastLo: u64, firstHi: u64, firstLo: u64): bool {
  // first - 1 <= last
  let h = firstHi;
  let l = firstLo;
  if (l == 0) { if (h == 0) return true; h--; l = ~(<u64>0); } else l--;
  return h < lastHi || (h == lastHi && l <= lastLo);
}

function format(b: usize, family: u32, hi: u64, lo: u64, prefix: u32): void {
  if (family == 4) {
    for (let i = 0; i < 4; i++) {
      if (i > 0) bufByte(b, 0x2e);
      bufU64(b, (lo >> (<u64>(24 - i * 8))) & 0xff);
    }
  } else {
    const a = alloc(24);
    store<u64>(a, bswap<u64>(hi));
    store<u64>(a, bswap<u64>(lo), 8);
    store<u32>(a, 16, 16);
    formatIPAddress(b, a);
  }
  bufByte(b, 0x2f);
  bufU64(b, <u64>prefix);
}

/** The low `k` bits set (0 <= k <= 64). */
function lowMask(k: u32): u64 {
  return k >= 64 ? ~(<u64>0) : (<u64>1 << <u64>k) - 1;
}

/** Adds the CIDRs exactly covering [first, last] to the set `out`. */
function rangeToCIDRs(out: usize, family: u32, fh0: u64, fl0: u64, lh: u64, ll: u64): void {
  const width: u32 = family == 4 ? 32 : 128;
  let fh = fh0;
  let fl = fl0;
  while (fh < lh || (fh == lh && fl <= ll)) {
    // Largest block aligned at first that ends at or before last.
    let k: u32 = 0;
    while (k < width) {
      const nk = k + 1;
      // aligned: the low nk bits of first are zero
      const aligned = nk <= 64 ? (fl & lowMask(nk)) == 0 : fl == 0 && (fh & lowMask(nk - 64)) == 0;
      if (!aligned) break;
      // end = first + 2^nk - 1
      let eh = fh;
      let el = fl;
      if (nk < 64) { el = fl | ((<u64>1 << <u64>nk) - 1); }
      else if (nk == 64) { el = ~(<u64>0); }
      else { el = ~(<u64>0); eh = fh | lowMask(nk - 64); }
      if (eh > lh || (eh == lh && el > ll)) break;
      k = nk;
    }
    const b = bufNew(48);
    format(b, family, fh, fl, width - k);
    setAdd(out, bufToString(b));
    // first += 2^k
    if (k >= 128) return;
    if (k < 64) {
      const step = <u64>1 << <u64>k;
      const nl = fl + step;
      if (nl < fl) { if (fh == ~(<u64>0)) return; fh++; }
      fl = nl;
    } else {
      fl = 0;
      const step = <u64>1 << <u64>(k - 64);
      const nh = fh + step;
      if (nh < fh) return;
      fh = nh;
    }
    if (family == 4 && fl > 0xffffffff) return;
  }
}

export function builtin_net_cidr_merge(v: usize): usize {
  const t = load<u8>(v);
  if (t != TYPE_ARRAY && t != TYPE_SET) typeError('net.cidr_merge', 1, 'any of {array, set}', v);
  const n = t == TYPE_ARRAY ? arrayLen(v) : setLen(v);
  const ranges = alloc(n * RANGE + RANGE);
  for (let i: usize = 0; i < n; i++) {
    const s = t == TYPE_ARRAY ? arrayGet(v, i) : setAt(v, i);
    if (load<u8>(s) != TYPE_STRING) fail('net.cidr_merge', 'element must be string');
    let a = parseIPAddress(stringPtr(s), stringLen(s));
    if (a != 0) {
      if (load<u32>(a, 16) != 4) fail('net.cidr_merge', 'IPv6 invalid: needs prefix length');
      const first = load<u8>(a);
      store<u32>(a, first < 0x80 ? 8 : first < 0xc0 ? 16 : 24, 20);
    } else {
      a = parseCIDRAddress(stringPtr(s), stringLen(s));
      if (a == 0) invalid(s);
    }
    toRange(a, ranges + i * RANGE);
  }
  // Insertion sort by (family, first): inputs are small.
  const tmp = alloc(RANGE);
  for (let i: usize = 1; i < n; i++) {
    memory.copy(tmp, ranges + i * RANGE, RANGE);
    let j = i;
    while (j > 0 && less(tmp, ranges + (j - 1) * RANGE)) {
      memory.copy(ranges + j * RANGE, ranges + (j - 1) * RANGE, RANGE);
      j--;
    }
    memory.copy(ranges + j * RANGE, tmp, RANGE);
  }
  const out = makeSet();
  let i: usize = 0;
  while (i < n) {
    const r = ranges + i * RANGE;
    const family = load<u32>(r);
    const fh = load<u64>(r, 8);
    const fl = load<u64>(r, 16);
    let lh = load<u64>(r, 24);
    let ll = load<u64>(r, 32);
    let j = i + 1;
    while (j < n) {
      const q = ranges + j * RANGE;
      if (load<u32>(q) != family || !touches(lh, ll, load<u64>(q, 8), load<u64>(q, 16))) break;
      const qh = load<u64>(q, 24);
      const ql = load<u64>(q, 32);
      if (qh > lh || (qh == lh && ql > ll)) { lh = qh; ll = ql; }
      j++;
    }
    rangeToCIDRs(out, family, fh, fl, lh, ll);
    i = j;
  }
  return out;
}

