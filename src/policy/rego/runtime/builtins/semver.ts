// semver.is_valid and semver.compare (Semantic Versioning 2.0.0): numeric
// identifiers compare by value (any length), pre-releases sort before their
// release, build metadata is ignored.

import { TYPE_STRING, makeBool, makeNumberI64, stringLen, stringPtr } from '../value';
import { msgBegin, msgStr, msgBytes, msgAbort } from '../abort';
import { needString } from './util';

// Parts of the last version parsed: [start, end) offsets in the text.
let preStart: usize = 0;
let preEnd: usize = 0;
let coreEnd: usize = 0;

function isDigit(c: u32): bool { return c - 0x30 < 10; }
function isIdent(c: u32): bool { return isDigit(c) || (c | 0x20) - 0x61 < 26 || c == 0x2d; }

/** Checks dot-separated identifiers in [s, e); numeric ones without leading zeros when `strictNumeric`. */
function identifiers(p: usize, s: usize, e: usize, strictNumeric: bool): bool {
  if (s >= e) return false;
  let start = s;
  for (let i = s; i <= e; i++) {
    if (i == e || load<u8>(p + i) == 0x2e) {
      if (i == start) return false;
      let numeric = true;
      for (let k = start; k < i; k++) if (!isDigit(load<u8>(p + k))) numeric = false;
      if (strictNumeric && numeric && i - start > 1 && load<u8>(p + start) == 0x30) return false;
      start = i + 1;
    } else if (!isIdent(load<u8>(p + i))) return false;
  }
  return true;
}

function parse(p: usize, n: usize): bool {
  let i: usize = 0;
  for (let part = 0; part < 3; part++) {
    const s = i;
    while (i < n && isDigit(load<u8>(p + i))) i++;
    if (i == s || (i - s > 1 && load<u8>(p + s) == 0x30)) return false;
    if (part < 2) {
      if (i >= n || load<u8>(p + i) != 0x2e) return false;
      i++;
    }
  }
  coreEnd = i;
  preStart = preEnd = i;
  if (i < n && load<u8>(p + i) == 0x2d) {
    let e = i + 1;
    while (e < n && load<u8>(p + e) != 0x2b) e++;
    if (!identifiers(p, i + 1, e, true)) return false;
    preStart = i + 1;
    preEnd = e;
    i = e;
  }
  if (i < n) {
    if (load<u8>(p + i) != 0x2b || !identifiers(p, i + 1, n, false)) return false;
  }
  return true;
}

export function builtin_semver_is_valid(v: usize): usize {
  if (load<u8>(v) != TYPE_STRING) return makeBool(false);
  return makeBool(parse(stringPtr(v), stringLen(v)));
}

/** Compares numeric texts [a, a+an) and [b, b+bn) (no leading zeros). */
function compareNumeric(a: usize, an: usize, b: usize, bn: usize): i32 {
  if (an != bn) return an < bn ? -1 : 1;
  const c = memory.compare(a, b, an);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

function compareBytes(a: usize, an: usize, b: usize, bn: usize): i32 {
  const c = memory.compare(a, b, an < bn ? an : bn);
  if (c != 0) return c < 0 ? -1 : 1;
  return an == bn ? 0 : an < bn ? -1 : 1;
}

function allDigits(p: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) if (!isDigit(load<u8>(p + i))) return false;
  return true;
}

/** Compares dot-separated sequences [a, a+an) and [b, b+bn) field by field. */
function compareFields(a: usize, an: usize, b: usize, bn: usize, numericOnly: bool): i32 {
  let i: usize = 0;
  let j: usize = 0;
  while (i < an && j < bn) {
    let ie = i;
    while (ie < an && load<u8>(a + ie) != 0x2e) ie++;
    let je = j;
    while (je < bn && load<u8>(b + je) != 0x2e) je++;
    const na = numericOnly || allDigits(a + i, ie - i);
    const nb = numericOnly || allDigits(b + j, je - j);
    let c: i32;
    if (na && nb) c = compareNumeric(a + i, ie - i, b + j, je - j);
    else if (na) c = -1;
    else if (nb) c = 1;
    else c = compareBytes(a + i, ie - i, b + j, je - j);
    if (c != 0) return c;
    i = ie + 1;
    j = je + 1;
  }
  if (i >= an && j >= bn) return 0;
  return i >= an ? -1 : 1;
}

function invalid(i: i32, v: usize): void {
  msgBegin();
  msgStr('eval_builtin_error: semver.compare: operand ');
  msgStr(i == 1 ? '1' : '2');
  msgStr(': string "');
  msgBytes(stringPtr(v), stringLen(v));
  msgStr('" is not a valid SemVer');
  msgAbort();
}

export function builtin_semver_compare(a: usize, b: usize): usize {
  needString('semver.compare', 1, a);
  needString('semver.compare', 2, b);
  const pa = stringPtr(a);
  const pb = stringPtr(b);
  if (!parse(pb, stringLen(b))) invalid(2, b);
  const bCore = coreEnd, bPreS = preStart, bPreE = preEnd;
  if (!parse(pa, stringLen(a))) invalid(1, a);
  let c = compareFields(pa, coreEnd, pb, bCore, true);
  if (c == 0) {
    const aPre = preEnd > preStart;
    const bPre = bPreE > bPreS;
    if (aPre && !bPre) c = -1;
    else if (!aPre && bPre) c = 1;
    else if (aPre && bPre) c = compareFields(pa + preStart, preEnd - preStart, pb + bPreS, bPreE - bPreS, false);
  }
  return makeNumberI64(c);
}
