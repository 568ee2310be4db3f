// JSON text <-> values. Parsing references string bytes that need no
// unescaping in place (the SDK's buffers live as long as the values);
// dumping writes straight at the top of the heap, which nothing else uses
// while a dump runs.

import {
  TYPE_NULL, TYPE_BOOLEAN, TYPE_NUMBER, TYPE_STRING, TYPE_ARRAY, TYPE_OBJECT, TYPE_SET,
  NUM_INT, NUM_REF, NUM_BIGINT, makeNull, makeBool, makeStringRef, makeArray, arrayAppend,
  makeObject, makeObjectFromPairs, stringLen, stringPtr, arrayLen, arrayGet, objectLen, objectKeyAt,
  objectValueAt, setLen, setAt,
} from './value';
import { parseNumberText } from './number';
import { alloc, heapGet, heapSet, ensureMemory } from './memory';
import { dtoa_buffered } from 'util/number';

// ---- parsing -----------------------------------------------------------

let pos: usize = 0;
let end: usize = 0;
let failed = false;

function skipWs(): void {
  while (pos < end) {
    const c = load<u8>(pos);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return;
    pos++;
  }
}

function expectWord(w0: u8, w1: u8, w2: u8, w3: u8, n: usize): bool {
  if (pos + n > end) return false;
  if (load<u8>(pos) != w0 || load<u8>(pos + 1) != w1 || load<u8>(pos + 2) != w2) return false;
  if (n == 4 && load<u8>(pos + 3) != w3) return false;
  if (n == 5 && (load<u8>(pos + 3) != w3 || load<u8>(pos + 4) != 0x65)) return false;
  pos += n;
  return true;
}

function hex4(p: usize): i32 {
  let r: i32 = 0;
  for (let i: usize = 0; i < 4; i++) {
    const c = <i32>load<u8>(p + i);
    let d: i32;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) d = (c | 0x20) - 0x61 + 10;
    else return -1;
    r = (r << 4) | d;
  }
  return r;
}

function putUtf8(out: usize, o: usize, cp: u32): usize {
  if (cp < 0x80) { store<u8>(out + o, <u8>cp); return o + 1; }
  if (cp < 0x800) {
    store<u8>(out + o, <u8>(0xc0 | (cp >> 6)));
    store<u8>(out + o + 1, <u8>(0x80 | (cp & 0x3f)));
    return o + 2;
  }
  if (cp < 0x10000) {
    store<u8>(out + o, <u8>(0xe0 | (cp >> 12)));
    store<u8>(out + o + 1, <u8>(0x80 | ((cp >> 6) & 0x3f)));
    store<u8>(out + o + 2, <u8>(0x80 | (cp & 0x3f)));
    return o + 3;
  }
  store<u8>(out + o, <u8>(0xf0 | (cp >> 18)));
  store<u8>(out + o + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
  store<u8>(out + o + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
  store<u8>(out + o + 3, <u8>(0x80 | (cp & 0x3f)));
  return o + 4;
}

/** Parses a string at `pos` (on the opening quote). */
function parseString(): usize {
  pos++;
  const start = pos;
  let escaped = false;
  while (pos < end) {
    const c = load<u8>(pos);
    if (c == 0x22) break;
    if (c == 0x5c) { escaped = true; pos += 2; continue; }
    if (c < 0x20) { failed = true; return 0; }
    pos++;
  }
  if (pos >= end) { failed = true; return 0; }
  const stop = pos;
  pos++;
  if (!escaped) return makeStringRef(start, stop - start);
  const out = alloc(stop - start);
  let o: usize = 0;
  let p = start;
  while (p < stop) {
    const c = load<u8>(p);
    if (c != 0x5c) { store<u8>(out + o++, c); p++; continue; }
    const e = load<u8>(p + 1);
    p += 2;
    switch (e) {
      case 0x22: store<u8>(out + o++, 0x22); break;
      case 0x5c: store<u8>(out + o++, 0x5c); break;
      case 0x2f: store<u8>(out + o++, 0x2f); break;
      case 0x62: store<u8>(out + o++, 0x08); break;
      case 0x66: store<u8>(out + o++, 0x0c); break;
      case 0x6e: store<u8>(out + o++, 0x0a); break;
      case 0x72: store<u8>(out + o++, 0x0d); break;
      case 0x74: store<u8>(out + o++, 0x09); break;
      case 0x75: {
        if (p + 4 > stop) { failed = true; return 0; }
        let cp = hex4(p);
        if (cp < 0) { failed = true; return 0; }
        p += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && p + 6 <= stop && load<u8>(p) == 0x5c && load<u8>(p + 1) == 0x75) {
          const lo = hex4(p + 2);
          if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
          }
        }
        if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
        o = putUtf8(out, o, <u32>cp);
        break;
      }
      default: failed = true; return 0;
    }
  }
  return makeStringRef(out, o);
}

function parseValue(depth: i32): usize {
  skipWs();
  if (pos >= end || depth > 10000) { failed = true; return 0; }
  const c = load<u8>(pos);
  if (c == 0x22) return parseString();
  if (c == 0x7b) {
    pos++;
    skipWs();
    if (pos < end && load<u8>(pos) == 0x7d) { pos++; return makeObject(); }
    // Pairs go to a growing scratch array, then become a sorted object at once.
    let cap: usize = 8;
    let pairs = alloc(cap << 3);
    let n: usize = 0;
    while (true) {
      skipWs();
      if (pos >= end || load<u8>(pos) != 0x22) { failed = true; return 0; }
      const k = parseString();
      if (failed) return 0;
      skipWs();
      if (pos >= end || load<u8>(pos) != 0x3a) { failed = true; return 0; }
      pos++;
      const v = parseValue(depth + 1);
      if (failed) return 0;
      if (n == cap) {
        const bigger = alloc(cap << 4);
        memory.copy(bigger, pairs, cap << 3);
        pairs = bigger;
        cap <<= 1;
      }
      store<u32>(pairs + (n << 3), <u32>k);
      store<u32>(pairs + (n << 3), <u32>v, 4);
      n++;
      skipWs();
      if (pos < end && load<u8>(pos) == 0x2c) { pos++; continue; }
      if (pos < end && load<u8>(pos) == 0x7d) { pos++; return makeObjectFromPairs(pairs, n); }
      failed = true;
      return 0;
    }
  }
  if (c == 0x5b) {
    pos++;
    const a = makeArray(4);
    skipWs();
    if (pos < end && load<u8>(pos) == 0x5d) { pos++; return a; }
    while (true) {
      const v = parseValue(depth + 1);
      if (failed) return 0;
      arrayAppend(a, v);
      skipWs();
      if (pos < end && load<u8>(pos) == 0x2c) { pos++; continue; }
      if (pos < end && load<u8>(pos) == 0x5d) { pos++; return a; }
      failed = true;
      return 0;
    }
  }
  if (c == 0x74) { if (expectWord(0x74, 0x72, 0x75, 0x65, 4)) return makeBool(true); failed = true; return 0; }
  if (c == 0x66) { if (expectWord(0x66, 0x61, 0x6c, 0x73, 5)) return makeBool(false); failed = true; return 0; }
  if (c == 0x6e) { if (expectWord(0x6e, 0x75, 0x6c, 0x6c, 4)) return makeNull(); failed = true; return 0; }
  const start = pos;
  while (pos < end) {
    const d = load<u8>(pos);
    if ((d >= 0x30 && d <= 0x39) || d == 0x2d || d == 0x2b || d == 0x2e || d == 0x65 || d == 0x45) pos++;
    else break;
  }
  const n = parseNumberText(start, pos - start);
  if (n == 0) failed = true;
  return n;
}

/** Parses JSON text; 0 on a syntax error. */
export function parseJson(ptr: usize, len: usize): usize {
  pos = ptr;
  end = ptr + len;
  failed = false;
  const v = parseValue(0);
  if (failed) return 0;
  skipWs();
  if (pos != end) return 0;
  return v;
}

// ---- dumping -----------------------------------------------------------

let out: usize = 0;
/** Rego term syntax instead of JSON: `, ` and `: ` separators, sets as `{…}` / `set()`. */
let regoMode = false;

// @ts-ignore: decorator
@inline function put(b: u32): void {
  ensureMemory(out + 1);
  store<u8>(out++, <u8>b);
}

function putBytes(p: usize, n: usize): void {
  ensureMemory(out + n);
  memory.copy(out, p, n);
  out += n;
}

const HEX = memory.data<u8>([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);

function dumpString(p: usize, n: usize): void {
  ensureMemory(out + n + 2);
  put(0x22);
  let runStart = p;
  const stop = p + n;
  for (let q = p; q < stop; q++) {
    const c = <u32>load<u8>(q);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    putBytes(runStart, q - runStart);
    runStart = q + 1;
    put(0x5c);
    if (c == 0x22 || c == 0x5c) put(c);
    else if (c == 0x0a) put(0x6e);
    else if (c == 0x0d) put(0x72);
    else if (c == 0x09) put(0x74);
    else {
      put(0x75); put(0x30); put(0x30);
      put(<u32>load<u8>(HEX + (c >> 4)));
      put(<u32>load<u8>(HEX + (c & 15)));
    }
  }
  putBytes(runStart, stop - runStart);
  put(0x22);
}

function dumpI64(x: i64): void {
  ensureMemory(out + 24);
  let u: u64;
  if (x < 0) { put(0x2d); u = <u64>(0 - x); } else u = <u64>x;
  let tmp = out + 21;
  let n: usize = 0;
  do {
    store<u8>(tmp - n, <u8>(0x30 + <u32>(u % 10)));
    u /= 10;
    n++;
  } while (u != 0);
  memory.copy(out, tmp - n + 1, n);
  out += n;
}

function dumpF64(f: f64): void {
  if (!isFinite(f)) { putBytes(NULL_TEXT, 4); return; }
  if (f == Math.trunc(f) && Math.abs(f) < 1e21) {
    if (Math.abs(f) < 9.2e18) { dumpI64(<i64>f); return; }
  }
  ensureMemory(out + 128);
  const buf = out + 64;
  const n = <usize>dtoa_buffered(buf, f);
  for (let i: usize = 0; i < n; i++) put(<u32>load<u16>(buf + (i << 1)));
}

const NULL_TEXT = memory.data<u8>([0x6e, 0x75, 0x6c, 0x6c]);

function dumpValue(v: usize): void {
  switch (load<u8>(v)) {
    case TYPE_NULL: putBytes(NULL_TEXT, 4); return;
    case TYPE_BOOLEAN:
      if (load<u8>(v, 1) != 0) { put(0x74); put(0x72); put(0x75); put(0x65); } else { put(0x66); put(0x61); put(0x6c); put(0x73); put(0x65); }
      return;
    case TYPE_NUMBER: {
      const r = load<u8>(v, 1);
      if (r == NUM_INT) dumpI64(load<i64>(v, 8));
      else if (r == NUM_REF || r == NUM_BIGINT) putBytes(<usize>load<u32>(v, 16), <usize>load<u32>(v, 4));
      else dumpF64(load<f64>(v, 8));
      return;
    }
    case TYPE_STRING: dumpString(stringPtr(v), stringLen(v)); return;
    case TYPE_ARRAY: {
      put(0x5b);
      const n = arrayLen(v);
      for (let i: usize = 0; i < n; i++) { if (i > 0) sep(); dumpValue(arrayGet(v, i)); }
      put(0x5d);
      return;
    }
    case TYPE_SET: {
      const n = setLen(v);
      if (regoMode && n == 0) { put(0x73); put(0x65); put(0x74); put(0x28); put(0x29); return; }
      put(regoMode ? 0x7b : 0x5b);
      for (let i: usize = 0; i < n; i++) { if (i > 0) sep(); dumpValue(setAt(v, i)); }
      put(regoMode ? 0x7d : 0x5d);
      return;
    }
    case TYPE_OBJECT: {
      put(0x7b);
      const n = objectLen(v);
      for (let i: usize = 0; i < n; i++) {
        if (i > 0) sep();
        const k = objectKeyAt(v, i);
        if (load<u8>(k) == TYPE_STRING) dumpString(stringPtr(k), stringLen(k));
        else if (regoMode) dumpValue(k);
        else dumpKeyAsString(k);
        put(0x3a);
        if (regoMode) put(0x20);
        dumpValue(objectValueAt(v, i));
      }
      put(0x7d);
      return;
    }
  }
  putBytes(NULL_TEXT, 4);
}

function sep(): void {
  put(0x2c);
  if (regoMode) put(0x20);
}

/** Non-string keys are written as the JSON string of their JSON text (as OPA does). */
function dumpKeyAsString(k: usize): void {
  const start = out;
  dumpValue(k);
  const n = out - start;
  // Move the text out of the way of its own escaped copy (which is at most 6n + 2 long).
  const scratch = start + 6 * n + 64;
  ensureMemory(scratch + n);
  memory.copy(scratch, start, n);
  out = start;
  dumpString(scratch, n);
}

/** Writes `v` as NUL-terminated JSON at the top of the heap; returns its address. */
export function dumpJson(v: usize): usize {
  const start = heapGet();
  out = start;
  regoMode = false;
  dumpValue(v);
  put(0);
  heapSet((out + 7) & ~(<usize>7));
  return start;
}


const UNDEFINED_TEXT = memory.data<u8>([0x3c, 0x75, 0x6e, 0x64, 0x65, 0x66, 0x69, 0x6e, 0x65, 0x64, 0x3e]);

/**
 * internal.template_string: concatenates the parts of a string template.
 * A string part is literal text; a set part holds the value of an embedded
 * expression (empty: `<undefined>`; a string is inserted as is, anything
 * else in Rego syntax). Returns 0 if `parts` is not an array.
 */
export function templateString(parts: usize): usize {
  if (load<u8>(parts) != TYPE_ARRAY) return 0;
  const start = heapGet();
  out = start;
  regoMode = true;
  const n = arrayLen(parts);
  for (let i: usize = 0; i < n; i++) {
    const p = arrayGet(parts, i);
    const t = load<u8>(p);
    if (t == TYPE_STRING) { putBytes(stringPtr(p), stringLen(p)); continue; }
    if (t != TYPE_SET) { dumpValue(p); continue; }
    if (setLen(p) == 0) { putBytes(UNDEFINED_TEXT, 11); continue; }
    const e = setAt(p, 0);
    if (load<u8>(e) == TYPE_STRING) putBytes(stringPtr(e), stringLen(e));
    else dumpValue(e);
  }
  regoMode = false;
  const len = out - start;
  heapSet((out + 7) & ~(<usize>7));
  return makeStringRef(start, len);
}
