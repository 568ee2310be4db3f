// Parser for the RE2 syntax (Go's regexp) into a syntax tree on the heap:
// literals, `.`, classes ([...], [^...], [[:alpha:]], \d \w \s and their
// negations), anchors (^ $ \A \z \b \B), groups (capturing, (?:...),
// (?P<name>...), (?<name>...)), flags (?imsU) and (?flags:...), Unicode
// classes \p{L} \p{Greek} \PL (common categories and scripts),
// alternation, and the quantifiers * + ? {n} {n,} {n,m} with lazy `?`.
// Errors leave `reError` set to Go's message (e.g. "missing closing )").
//
// Node (32 bytes): kind u8 @0, flags u8 @1, min i32 @4, max i32 @8,
// child @12, next sibling @16, value @20 (code point, class, assertion),
// capture index @24.

import { allocZero } from '../memory';
import { decodeAt, stepAt, bufNew, bufByte, bufPtr, bufLen } from './util';
import { hexDigit, addRange, addClass, finishClass, perlClass, posixClass, addFolded, unicodeClass } from './regex-class';

export const N_EMPTY: u8 = 0;
export const N_LIT: u8 = 1;
export const N_ANY: u8 = 2;       // flags & F_S: matches \n too
export const N_CLASS: u8 = 3;     // value: class
export const N_ASSERT: u8 = 4;    // value: A_*
export const N_CAP: u8 = 5;       // capture index @24, child
export const N_CAT: u8 = 6;       // children
export const N_ALT: u8 = 7;       // children
export const N_REP: u8 = 8;       // child, min, max (-1: unbounded); flags & F_LAZY

export const F_I: u8 = 1;    // case-insensitive
export const F_M: u8 = 2;    // multi-line ^ $
export const F_S: u8 = 4;    // . matches \n
export const F_U: u8 = 8;    // swap greedy and lazy
export const F_LAZY: u8 = 16;

export const A_BOT: i32 = 1;      // \A, ^ without m
export const A_EOT: i32 = 2;      // \z, $ without m
export const A_BOL: i32 = 3;      // ^ with m
export const A_EOL: i32 = 4;      // $ with m
export const A_WORD: i32 = 5;     // \b
export const A_NOTWORD: i32 = 6;  // \B

/** Go's message for the last parse error, or null. */
export let reError: string | null = null;
/** Where the error is in the pattern (bytes), for the message. */
export let reErrorAt: usize = 0;
export let reErrorLen: usize = 0;
/** Number of capture groups of the last parse. */
export let reGroups: i32 = 0;
/** Named groups: a buffer of (index u32, name ptr u32, name len u32). */
export let reNames: usize = 0;

let src: usize = 0;
let end: usize = 0;
let pos: usize = 0;
let flags: u8 = 0;

export function node(kind: u8): usize {
  const n = allocZero(32);
  store<u8>(n, kind);
  store<u8>(n, flags, 1);
  return n;
}

function err(msg: string, at: usize, len: usize): usize {
  if (reError === null) {
    reError = msg;
    reErrorAt = at;
    reErrorLen = len;
  }
  return 0;
}

/** Parses [p, p+n). Returns the root node, or 0 with reError set. */
export function parseRegex(p: usize, n: usize): usize {
  src = p;
  end = p + n;
  pos = p;
  flags = 0;
  reError = null;
  reGroups = 0;
  reNames = bufNew(16);
  const r = parseAlt(0);
  if (reError !== null) return 0;
  if (pos < end) return err('unexpected )', src, end - src);
  return r;
}

function parseAlt(depth: i32): usize {
  if (depth > 1000) return err('expression nests too deeply', src, end - src);
  const first = parseConcat(depth);
  if (reError !== null) return 0;
  if (pos >= end || load<u8>(pos) != 0x7c) return first;
  const alt = node(N_ALT);
  store<u32>(alt, <u32>first, 12);
  let last = first;
  while (pos < end && load<u8>(pos) == 0x7c) {
    pos++;
    const next = parseConcat(depth);
    if (reError !== null) return 0;
    store<u32>(last, <u32>next, 16);
    last = next;
  }
  return alt;
}

function parseConcat(depth: i32): usize {
  const cat = node(N_CAT);
  let last: usize = 0;
  while (pos < end) {
    const c = load<u8>(pos);
    if (c == 0x7c || c == 0x29) break;
    const item = parseRepeat(depth);
    if (reError !== null) return 0;
    if (item == 0) continue; // a flag group like (?i) adds nothing
    if (last == 0) store<u32>(cat, <u32>item, 12);
    else store<u32>(last, <u32>item, 16);
    last = item;
  }
  if (last == 0) return node(N_EMPTY);
  return cat;
}

function isQuantifier(c: u32): bool {
  return c == 0x2a || c == 0x2b || c == 0x3f;
}

/** Reads {n}, {n,} or {n,m} at pos; false (pos unchanged) if it is not one. */
let repMin: i32 = 0;
let repMax: i32 = 0;
function readBraces(): bool {
  let q = pos + 1;
  let a: i32 = 0;
  const s = q;
  while (q < end && load<u8>(q) - 0x30 < 10) { if (a <= 1000) a = a * 10 + <i32>(load<u8>(q) - 0x30); q++; }
  if (q == s) return false;
  let b = a;
  if (q < end && load<u8>(q) == 0x2c) {
    q++;
    if (q < end && load<u8>(q) == 0x7d) b = -1;
    else {
      const t = q;
      b = 0;
      while (q < end && load<u8>(q) - 0x30 < 10) { if (b <= 1000) b = b * 10 + <i32>(load<u8>(q) - 0x30); q++; }
      if (q == t) return false;
    }
  }
  if (q >= end || load<u8>(q) != 0x7d) return false;
  repMin = a;
  repMax = b;
  pos = q + 1;
  return true;
}

function parseRepeat(depth: i32): usize {
  const atomStart = pos;
  let atom = parseAtom(depth);
  if (reError !== null || atom == 0) return atom;
  let repeated = false;
  while (pos < end) {
    const c = <u32>load<u8>(pos);
    const opStart = pos;
    let min: i32 = 0;
    let max: i32 = 0;
    if (c == 0x2a) { min = 0; max = -1; pos++; }
    else if (c == 0x2b) { min = 1; max = -1; pos++; }
    else if (c == 0x3f) { min = 0; max = 1; pos++; }
    else if (c == 0x7b && readBraces()) {
      min = repMin;
      max = repMax;
      if (min > 1000 || max > 1000 || (max >= 0 && max < min)) return err('invalid repeat count', opStart, pos - opStart);
    } else break;
    let lazy = false;
    if (pos < end && load<u8>(pos) == 0x3f) { lazy = true; pos++; }
    if (repeated) return err('invalid nested repetition operator', atomStart, pos - atomStart);
    if ((flags & F_U) != 0) lazy = !lazy;
    const r = node(N_REP);
    store<i32>(r, min, 4);
    store<i32>(r, max, 8);
    store<u32>(r, <u32>atom, 12);
    if (lazy) store<u8>(r, load<u8>(r, 1) | F_LAZY, 1);
    atom = r;
    repeated = true;
  }
  return atom;
}

function lit(cp: u32): usize {
  const n = node(N_LIT);
  store<u32>(n, cp, 20);
  return n;
}

function parseAtom(depth: i32): usize {
  const c = <u32>load<u8>(pos);
  if (c == 0x28) return parseGroup(depth);
  if (c == 0x5b) return parseClass();
  if (c == 0x2e) { pos++; return node(N_ANY); }
  if (c == 0x5e) {
    pos++;
    const a = node(N_ASSERT);
    store<i32>(a, (flags & F_M) != 0 ? A_BOL : A_BOT, 20);
    return a;
  }
  if (c == 0x24) {
    pos++;
    const a = node(N_ASSERT);
    store<i32>(a, (flags & F_M) != 0 ? A_EOL : A_EOT, 20);
    return a;
  }
  if (c == 0x5c) return parseEscape();
  if (isQuantifier(c)) return err('missing argument to repetition operator', pos, 1);
  const w = stepAt(pos, end - pos);
  const cp = decodeAt(pos, end - pos);
  if (cp == 0xfffd && w == 1 && c >= 0x80) return err('invalid UTF-8', pos, 1);
  pos += w;
  return lit(cp);
}

function parseGroup(depth: i32): usize {
  const open = pos;
  pos++;
  const saved = flags;
  let capIndex: i32 = -1;
  if (pos < end && load<u8>(pos) == 0x3f) {
    pos++;
    // Named group: (?P<name>re) or (?<name>re).
    if (pos < end && (load<u8>(pos) == 0x3c || (load<u8>(pos) == 0x50 && pos + 1 < end && load<u8>(pos + 1) == 0x3c))) {
      if (load<u8>(pos) == 0x50) pos++;
      pos++;
      const nameStart = pos;
      while (pos < end && load<u8>(pos) != 0x3e) {
        const ch = <u32>load<u8>(pos);
        const ok = (ch | 0x20) - 0x61 < 26 || ch - 0x30 < 10 || ch == 0x5f;
        if (!ok) return err('invalid named capture', open, end - open);
        pos++;
      }
      if (pos >= end || pos == nameStart) return err('invalid named capture', open, end - open);
      reGroups++;
      capIndex = reGroups;
      bufName(capIndex, nameStart, pos - nameStart);
      pos++;
    } else {
      // Flags: (?flags) or (?flags:re).
      let neg = false;
      let f = flags;
      while (true) {
        if (pos >= end) return err('missing closing )', open, end - open);
        const ch = <u32>load<u8>(pos);
        pos++;
        if (ch == 0x69) f = neg ? f & ~F_I : f | F_I;
        else if (ch == 0x6d) f = neg ? f & ~F_M : f | F_M;
        else if (ch == 0x73) f = neg ? f & ~F_S : f | F_S;
        else if (ch == 0x55) f = neg ? f & ~F_U : f | F_U;
        else if (ch == 0x2d && !neg) neg = true;
        else if (ch == 0x29) { flags = f; return 0; }
        else if (ch == 0x3a) { flags = f; break; }
        else return err('invalid or unsupported Perl syntax', open, pos - open);
      }
    }
  } else {
    reGroups++;
    capIndex = reGroups;
  }
  const inner = parseAlt(depth + 1);
  if (reError !== null) return 0;
  if (pos >= end || load<u8>(pos) != 0x29) return err('missing closing )', open, end - open);
  pos++;
  flags = saved;
  if (capIndex < 0) return inner;
  const g = node(N_CAP);
  store<i32>(g, capIndex, 24);
  store<u32>(g, <u32>inner, 12);
  return g;
}

function bufName(index: i32, p: usize, n: usize): void {
  const b = reNames;
  for (let k = 0; k < 4; k++) bufByte(b, (<u32>index >> (k * 8)) & 0xff);
  for (let k = 0; k < 4; k++) bufByte(b, (<u32>p >> (k * 8)) & 0xff);
  for (let k = 0; k < 4; k++) bufByte(b, (<u32>n >> (k * 8)) & 0xff);
}

/** The capture index of the named group [p, p+n), or -1. */
export function groupIndex(p: usize, n: usize): i32 {
  const b = bufPtr(reNames);
  const count = bufLen(reNames) / 12;
  for (let i: usize = 0; i < count; i++) {
    const e = b + i * 12;
    if (<usize>load<u32>(e, 8) == n && memory.compare(<usize>load<u32>(e, 4), p, n) == 0) return load<i32>(e);
  }
  return -1;
}

// ---- escapes and classes (class blocks: see regex-class.ts) ---------------

// Escape results: a code point, or a class (escClass != 0), or an assertion.
let escClass: usize = 0;
let escAssert: i32 = 0;

/** Reads an escape at pos (on the backslash). Returns a code point, or -1 (see escClass/escAssert), or -2 on error. */
function readEscape(inClass: bool): i32 {
  const start = pos;
  pos++;
  escClass = 0;
  escAssert = 0;
  if (pos >= end) { err('trailing backslash at end of expression', start, 1); return -2; }
  const c = <u32>load<u8>(pos);
  pos++;
  switch (c) {
    case 0x64: escClass = perlClass(0, false); return -1;  // \d
    case 0x44: escClass = perlClass(0, true); return -1;   // \D
    case 0x77: escClass = perlClass(1, false); return -1;  // \w
    case 0x57: escClass = perlClass(1, true); return -1;   // \W
    case 0x73: escClass = perlClass(2, false); return -1;  // \s
    case 0x53: escClass = perlClass(2, true); return -1;   // \S
    case 0x6e: return 0x0a;
    case 0x74: return 0x09;
    case 0x72: return 0x0d;
    case 0x66: return 0x0c;
    case 0x76: return 0x0b;
    case 0x61: return 0x07;
    case 0x78: { // \x7F or \x{10FFFF}
      if (pos < end && load<u8>(pos) == 0x7b) {
        pos++;
        let v: i32 = 0;
        let nd = 0;
        while (pos < end && load<u8>(pos) != 0x7d) {
          const d = hexDigit(load<u8>(pos));
          if (d < 0 || v > 0x10ffff) { err('invalid escape sequence', start, pos - start + 1); return -2; }
          v = v * 16 + d;
          nd++;
          pos++;
        }
        if (pos >= end || nd == 0 || v > 0x10ffff) { err('invalid escape sequence', start, pos - start); return -2; }
        pos++;
        return v;
      }
      if (pos + 2 <= end) {
        const a = hexDigit(load<u8>(pos));
        const b = hexDigit(load<u8>(pos + 1));
        if (a >= 0 && b >= 0) { pos += 2; return a * 16 + b; }
      }
      err('invalid escape sequence', start, pos - start);
      return -2;
    }
  }
  if (!inClass) {
    if (c == 0x41) { escAssert = A_BOT; return -1; }   // \A
    if (c == 0x7a) { escAssert = A_EOT; return -1; }   // \z
    if (c == 0x62) { escAssert = A_WORD; return -1; }  // \b
    if (c == 0x42) { escAssert = A_NOTWORD; return -1; } // \B
  }
  if (c >= 0x30 && c <= 0x37) {
    // Octal: \0, \012; \1-\7 alone are backreferences, which RE2 refuses.
    if (c != 0x30 && (pos >= end || load<u8>(pos) - 0x30 >= 8)) { err('invalid escape sequence', start, pos - start); return -2; }
    let v = <i32>(c - 0x30);
    for (let k = 0; k < 2 && pos < end && load<u8>(pos) - 0x30 < 8; k++) { v = v * 8 + <i32>(load<u8>(pos) - 0x30); pos++; }
    return v;
  }
  // Punctuation escapes itself; letters and digits are reserved.
  if (c < 0x80 && !((c | 0x20) - 0x61 < 26 || c - 0x30 < 10)) return <i32>c;
  err('invalid escape sequence', start, pos - start);
  return -2;
}

/** Reads \pL, \p{Name}, \PL, \P{Name} or \p{^Name} at pos (on the backslash); a class block, or 0 with reError set. */
function readUnicodeClass(): usize {
  const start = pos;
  let negate = load<u8>(pos + 1) == 0x50;
  pos += 2;
  if (pos >= end) return err('invalid character class range', start, pos - start);
  let nameStart = pos;
  let nameEnd = pos + 1;
  if (load<u8>(pos) == 0x7b) {
    let q = pos + 1;
    while (q < end && load<u8>(q) != 0x7d) q++;
    if (q >= end) return err('invalid character class range', start, end - start);
    nameStart = pos + 1;
    nameEnd = q;
    if (nameStart < nameEnd && load<u8>(nameStart) == 0x5e) { negate = !negate; nameStart++; }
    pos = q + 1;
  } else {
    pos++;
  }
  const cls = unicodeClass(nameStart, nameEnd - nameStart, negate);
  if (cls == 0) return err('invalid character class range', start, pos - start);
  return cls;
}

function parseEscape(): usize {
  const start = pos;
  // \Q...\E: literal text.
  if (pos + 1 < end && load<u8>(pos + 1) == 0x51) {
    pos += 2;
    const cat = node(N_CAT);
    let last: usize = 0;
    while (pos < end) {
      if (load<u8>(pos) == 0x5c && pos + 1 < end && load<u8>(pos + 1) == 0x45) { pos += 2; break; }
      const w = stepAt(pos, end - pos);
      const l = lit(decodeAt(pos, end - pos));
      pos += w;
      if (last == 0) store<u32>(cat, <u32>l, 12); else store<u32>(last, <u32>l, 16);
      last = l;
    }
    return last == 0 ? node(N_EMPTY) : cat;
  }
  if (pos + 1 < end && (load<u8>(pos + 1) == 0x70 || load<u8>(pos + 1) == 0x50)) {
    const cls = readUnicodeClass();
    if (cls == 0) return 0;
    const n = node(N_CLASS);
    store<u32>(n, <u32>cls, 20);
    return n;
  }
  const v = readEscape(false);
  if (v == -2) return 0;
  if (v >= 0) return lit(<u32>v);
  if (escAssert != 0) {
    const a = node(N_ASSERT);
    store<i32>(a, escAssert, 20);
    return a;
  }
  const n = node(N_CLASS);
  store<u32>(n, <u32>escClass, 20);
  return n;
}

function parseClass(): usize {
  const open = pos;
  pos++;
  let negate = false;
  if (pos < end && load<u8>(pos) == 0x5e) { negate = true; pos++; }
  const b = bufNew(64);
  let first = true;
  while (true) {
    if (pos >= end) return err('missing closing ]', open, end - open);
    const c = <u32>load<u8>(pos);
    if (c == 0x5d && !first) { pos++; break; }
    first = false;
    // [:alpha:] and [:^alpha:]
    if (c == 0x5b && pos + 1 < end && load<u8>(pos + 1) == 0x3a) {
      let q = pos + 2;
      let pneg = false;
      if (q < end && load<u8>(q) == 0x5e) { pneg = true; q++; }
      const nameStart = q;
      while (q + 1 < end && !(load<u8>(q) == 0x3a && load<u8>(q + 1) == 0x5d)) q++;
      if (q + 1 < end) {
        if (!posixClass(b, nameStart, q - nameStart, pneg)) return err('invalid character class range', pos, q + 2 - pos);
        pos = q + 2;
        continue;
      }
    }
    let lo: u32;
    if (c == 0x5c) {
      if (pos + 1 < end && (load<u8>(pos + 1) == 0x70 || load<u8>(pos + 1) == 0x50)) {
        const cls = readUnicodeClass();
        if (cls == 0) return 0;
        addClass(b, cls);
        continue;
      }
      const v = readEscape(true);
      if (v == -2) return 0;
      if (v == -1) { addClass(b, escClass); continue; }
      lo = <u32>v;
    } else {
      lo = decodeAt(pos, end - pos);
      pos += stepAt(pos, end - pos);
    }
    let hi = lo;
    if (pos + 1 < end && load<u8>(pos) == 0x2d && load<u8>(pos + 1) != 0x5d) {
      const rangeStart = pos - 1;
      pos++;
      if (load<u8>(pos) == 0x5c) {
        const v = readEscape(true);
        if (v == -2) return 0;
        if (v == -1) return err('invalid character class range', rangeStart, pos - rangeStart);
        hi = <u32>v;
      } else {
        hi = decodeAt(pos, end - pos);
        pos += stepAt(pos, end - pos);
      }
      if (hi < lo) return err('invalid character class range', rangeStart, pos - rangeStart);
    }
    if ((flags & F_I) != 0) addFolded(b, lo, hi); else addRange(b, lo, hi);
  }
  const n = node(N_CLASS);
  store<u32>(n, <u32>finishClass(b, negate), 20);
  return n;
}
