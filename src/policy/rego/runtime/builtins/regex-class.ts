// Character classes for the regex parser: ranges collected in a buffer of
// (lo, hi) u32 pairs, then sorted, merged and optionally complemented into a
// class block (count u32 @0, then `count` pairs). Also \d \w \s and the
// POSIX [:name:] classes, ASCII as RE2 defines them, and the Unicode
// categories and scripts of \p{…}.

import { alloc } from '../memory';
import { bufNew, bufByte, bufPtr, bufLen } from './util';
import { lowerCase, upperCase } from './unicode';
import { RANGE_BYTES, NAMES, OFFSETS, COUNTS } from './unicode-tables';

export function hexDigit(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  if ((c | 0x20) - 0x61 < 6) return <i32>((c | 0x20) - 0x61 + 10);
  return -1;
}

// Ranges are collected in a buffer of (lo, hi) u32 pairs, then normalised.

export function addRange(b: usize, lo: u32, hi: u32): void {
  for (let k = 0; k < 4; k++) bufByte(b, (lo >> (k * 8)) & 0xff);
  for (let k = 0; k < 4; k++) bufByte(b, (hi >> (k * 8)) & 0xff);
}

export function addClass(b: usize, cls: usize): void {
  const n = <usize>load<u32>(cls);
  for (let i: usize = 0; i < n; i++) addRange(b, load<u32>(cls + 4 + i * 8), load<u32>(cls + 8 + i * 8));
}

/** Sorts and merges the ranges in buffer `b`, complemented if `negate`, as a class block. */
export function finishClass(b: usize, negate: bool): usize {
  const n = bufLen(b) / 8;
  const p = bufPtr(b);
  // Insertion sort by lo (classes are small).
  for (let i: usize = 1; i < n; i++) {
    const lo = load<u32>(p + i * 8);
    const hi = load<u32>(p + i * 8 + 4);
    let j = i;
    while (j > 0 && load<u32>(p + (j - 1) * 8) > lo) {
      store<u64>(p + j * 8, load<u64>(p + (j - 1) * 8));
      j--;
    }
    store<u32>(p + j * 8, lo);
    store<u32>(p + j * 8 + 4, hi);
  }
  const out = alloc(4 + (n + 1) * 8);
  let m: usize = 0;
  for (let i: usize = 0; i < n; i++) {
    const lo = load<u32>(p + i * 8);
    const hi = load<u32>(p + i * 8 + 4);
    if (m > 0 && lo <= load<u32>(out + 4 + (m - 1) * 8 + 4) + 1) {
      if (hi > load<u32>(out + 4 + (m - 1) * 8 + 4)) store<u32>(out + 4 + (m - 1) * 8 + 4, hi);
    } else {
      store<u32>(out + 4 + m * 8, lo);
      store<u32>(out + 4 + m * 8 + 4, hi);
      m++;
    }
  }
  store<u32>(out, <u32>m);
  if (!negate) return out;
  const neg = alloc(4 + (m + 1) * 8);
  let k: usize = 0;
  let next: u32 = 0;
  for (let i: usize = 0; i < m; i++) {
    const lo = load<u32>(out + 4 + i * 8);
    const hi = load<u32>(out + 8 + i * 8);
    if (lo > next) { store<u32>(neg + 4 + k * 8, next); store<u32>(neg + 8 + k * 8, lo - 1); k++; }
    next = hi + 1;
  }
  if (next <= 0x10ffff) { store<u32>(neg + 4 + k * 8, next); store<u32>(neg + 8 + k * 8, 0x10ffff); k++; }
  store<u32>(neg, <u32>k);
  return neg;
}

/** \d (0), \w (1), \s (2) as ASCII classes, as RE2 defines them. */
export function perlClass(which: i32, negate: bool): usize {
  const b = bufNew(32);
  if (which == 0) addRange(b, 0x30, 0x39);
  else if (which == 1) { addRange(b, 0x30, 0x39); addRange(b, 0x41, 0x5a); addRange(b, 0x5f, 0x5f); addRange(b, 0x61, 0x7a); }
  else { addRange(b, 0x09, 0x0a); addRange(b, 0x0c, 0x0d); addRange(b, 0x20, 0x20); }
  return finishClass(b, negate);
}

/** [:name:] inside a class; returns false if the name is unknown. */
export function posixClass(b: usize, p: usize, n: usize, negate: bool): bool {
  const t = bufNew(32);
  const w = bufNew(8);
  for (let i: usize = 0; i < n; i++) bufByte(w, load<u8>(p + i));
  const s = bufPtr(w);
  if (eq(s, n, 'alpha')) { addRange(t, 0x41, 0x5a); addRange(t, 0x61, 0x7a); }
  else if (eq(s, n, 'digit')) addRange(t, 0x30, 0x39);
  else if (eq(s, n, 'alnum')) { addRange(t, 0x30, 0x39); addRange(t, 0x41, 0x5a); addRange(t, 0x61, 0x7a); }
  else if (eq(s, n, 'upper')) addRange(t, 0x41, 0x5a);
  else if (eq(s, n, 'lower')) addRange(t, 0x61, 0x7a);
  else if (eq(s, n, 'space')) { addRange(t, 0x09, 0x0d); addRange(t, 0x20, 0x20); }
  else if (eq(s, n, 'xdigit')) { addRange(t, 0x30, 0x39); addRange(t, 0x41, 0x46); addRange(t, 0x61, 0x66); }
  else if (eq(s, n, 'word')) { addRange(t, 0x30, 0x39); addRange(t, 0x41, 0x5a); addRange(t, 0x5f, 0x5f); addRange(t, 0x61, 0x7a); }
  else if (eq(s, n, 'punct')) { addRange(t, 0x21, 0x2f); addRange(t, 0x3a, 0x40); addRange(t, 0x5b, 0x60); addRange(t, 0x7b, 0x7e); }
  else if (eq(s, n, 'blank')) { addRange(t, 0x09, 0x09); addRange(t, 0x20, 0x20); }
  else if (eq(s, n, 'cntrl')) { addRange(t, 0x00, 0x1f); addRange(t, 0x7f, 0x7f); }
  else if (eq(s, n, 'print')) addRange(t, 0x20, 0x7e);
  else if (eq(s, n, 'graph')) addRange(t, 0x21, 0x7e);
  else if (eq(s, n, 'ascii')) addRange(t, 0x00, 0x7f);
  else return false;
  addClass(b, finishClass(t, negate));
  return true;
}

function eq(p: usize, n: usize, s: string): bool {
  if (<usize>s.length != n) return false;
  for (let i: usize = 0; i < n; i++) if (<u32>load<u8>(p + i) != <u32>load<u16>(changetype<usize>(s) + (i << 1))) return false;
  return true;
}

/** Adds case variants of [lo, hi] (for (?i)). */
export function addFolded(b: usize, lo: u32, hi: u32): void {
  addRange(b, lo, hi);
  if (hi - lo > 0x3000) return;
  for (let c = lo; c <= hi; c++) {
    const l = lowerCase(c);
    const u = upperCase(c);
    if (l != c) addRange(b, l, l);
    if (u != c) addRange(b, u, u);
  }
}


/** The class of a Unicode category or script name ("L", "Greek", "Any"), or 0 if unknown. */
export function unicodeClass(p: usize, n: usize, negate: bool): usize {
  const t = bufNew(64);
  if (eq(p, n, 'Any')) {
    addRange(t, 0, 0x10ffff);
    return finishClass(t, negate);
  }
  for (let i = 0; i < NAMES.length; i++) {
    if (!eq(p, n, unchecked(NAMES[i]))) continue;
    let q = RANGE_BYTES + <usize>unchecked(OFFSETS[i]);
    let prev: u32 = 0;
    const count = unchecked(COUNTS[i]);
    for (let k: u32 = 0; k < count; k++) {
      const gap = varint(q);
      q = varintEnd;
      const len = varint(q);
      q = varintEnd;
      const lo = prev + gap;
      addRange(t, lo, lo + len);
      prev = lo + len;
    }
    return finishClass(t, negate);
  }
  return 0;
}

let varintEnd: usize = 0;

function varint(p: usize): u32 {
  let v: u32 = 0;
  let shift: u32 = 0;
  let q = p;
  while (true) {
    const b = <u32>load<u8>(q++);
    v |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  varintEnd = q;
  return v;
}
