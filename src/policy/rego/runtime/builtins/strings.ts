// String builtins. Strings are UTF-8; positions and lengths that OPA counts
// in code points (indexof, substring, strings.reverse) are counted so here.

import {
  TYPE_STRING, TYPE_ARRAY, TYPE_SET, makeBool, makeStringRef, makeArray, arrayAppend,
  arrayLen, arrayGet, setLen, setAt, stringLen, stringPtr, objectLen, objectKeyAt, objectValueAt,
} from '../value';
import { typeError, typeName } from '../errors';
import { msgBegin, msgStr, msgAbort } from '../abort';
import {
  needString, needObject, needInt, decodeAt, stepAt, bufNew, bufByte, bufBytes, bufCodePoint,
  bufToString, bufStr, bytesIndexOf, bytesHasPrefix, bytesHasSuffix, intValue, byteOffsetOfCodePoint,
  codePointCount, fail, failType,
} from './util';
import { lowerCase, upperCase, isSpace } from './unicode';

export function builtin_startswith(s: usize, p: usize): usize {
  needString('startswith', 1, s);
  needString('startswith', 2, p);
  return makeBool(bytesHasPrefix(stringPtr(s), stringLen(s), stringPtr(p), stringLen(p)));
}

export function builtin_endswith(s: usize, p: usize): usize {
  needString('endswith', 1, s);
  needString('endswith', 2, p);
  return makeBool(bytesHasSuffix(stringPtr(s), stringLen(s), stringPtr(p), stringLen(p)));
}

export function builtin_contains(s: usize, p: usize): usize {
  needString('contains', 1, s);
  needString('contains', 2, p);
  return makeBool(bytesIndexOf(stringPtr(s), stringLen(s), stringPtr(p), stringLen(p), 0) >= 0);
}

function mapCase(s: usize, upper: bool): usize {
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n);
  let i: usize = 0;
  while (i < n) {
    const w = stepAt(p + i, n - i);
    const cp = decodeAt(p + i, n - i);
    if (cp == 0xfffd && w == 1 && load<u8>(p + i) >= 0x80) bufByte(b, load<u8>(p + i));
    else bufCodePoint(b, upper ? upperCase(cp) : lowerCase(cp));
    i += w;
  }
  return bufToString(b);
}

export function builtin_lower(s: usize): usize {
  needString('lower', 1, s);
  return mapCase(s, false);
}

export function builtin_upper(s: usize): usize {
  needString('upper', 1, s);
  return mapCase(s, true);
}

/** Go's strings.Split: an empty separator splits into code points. */
export function builtin_split(s: usize, d: usize): usize {
  needString('split', 1, s);
  needString('split', 2, d);
  const p = stringPtr(s);
  const n = stringLen(s);
  const dp = stringPtr(d);
  const dn = stringLen(d);
  const r = makeArray(4);
  if (dn == 0) {
    let i: usize = 0;
    while (i < n) {
      const w = stepAt(p + i, n - i);
      arrayAppend(r, makeStringRef(p + i, w));
      i += w;
    }
    return r;
  }
  let start: usize = 0;
  while (true) {
    const at = bytesIndexOf(p, n, dp, dn, start);
    if (at < 0) break;
    arrayAppend(r, makeStringRef(p + start, <usize>at - start));
    start = <usize>at + dn;
  }
  arrayAppend(r, makeStringRef(p + start, n - start));
  return r;
}

/**
 * strings.split_n(x, delimiter, n): at most |n| of split's parts, the first
 * ones for n > 0, the last ones for n < 0, none for 0.
 */
export function builtin_strings_split_n(s: usize, d: usize, nv: usize): usize {
  needString('strings.split_n', 1, s);
  needString('strings.split_n', 2, d);
  const n = needInt('strings.split_n', 3, nv);
  const parts = builtin_split(s, d);
  const k = <u64>arrayLen(parts);
  const want: u64 = n >= 0 ? <u64>n : <u64>0 - <u64>n;
  const take = want < k ? want : k;
  const from: u64 = n >= 0 ? 0 : k - take;
  const r = makeArray(<usize>take);
  for (let i: u64 = 0; i < take; i++) arrayAppend(r, arrayGet(parts, <usize>(from + i)));
  return r;
}

export function builtin_concat(d: usize, coll: usize): usize {
  needString('concat', 1, d);
  const t = load<u8>(coll);
  if (t != TYPE_ARRAY && t != TYPE_SET) typeError('concat', 2, 'any of {array, set}', coll);
  const n = t == TYPE_ARRAY ? arrayLen(coll) : setLen(coll);
  const b = bufNew(16);
  for (let i: usize = 0; i < n; i++) {
    const e = t == TYPE_ARRAY ? arrayGet(coll, i) : setAt(coll, i);
    if (load<u8>(e) != TYPE_STRING) typeError('concat', 2, t == TYPE_ARRAY ? 'array of strings' : 'set of strings', coll);
    if (i > 0) bufStr(b, d);
    bufStr(b, e);
  }
  return bufToString(b);
}

// ---- trimming ----------------------------------------------------------

function inCutset(cp: u32, cut: usize): bool {
  const p = stringPtr(cut);
  const n = stringLen(cut);
  let i: usize = 0;
  while (i < n) {
    if (decodeAt(p + i, n - i) == cp) return true;
    i += stepAt(p + i, n - i);
  }
  return false;
}

/** Bytes to drop at the start of [p, p+n) whose code points are in the cutset (or spaces when cut is 0). */
function leftCut(p: usize, n: usize, cut: usize): usize {
  let i: usize = 0;
  while (i < n) {
    const cp = decodeAt(p + i, n - i);
    if (cut == 0 ? !isSpace(cp) : !inCutset(cp, cut)) break;
    i += stepAt(p + i, n - i);
  }
  return i;
}

/** Start of the trailing run of code points in the cutset (or spaces). */
function rightCut(p: usize, n: usize, cut: usize): usize {
  let end = n;
  while (end > 0) {
    let s = end - 1;
    while (s > 0 && (load<u8>(p + s) & 0xc0) == 0x80 && end - s < 4) s--;
    if (stepAt(p + s, end - s) != end - s) s = end - 1;
    const cp = decodeAt(p + s, end - s);
    if (cut == 0 ? !isSpace(cp) : !inCutset(cp, cut)) break;
    end = s;
  }
  return end;
}

export function builtin_trim(s: usize, c: usize): usize {
  needString('trim', 1, s);
  needString('trim', 2, c);
  const p = stringPtr(s);
  const n = stringLen(s);
  const l = leftCut(p, n, c);
  const r = rightCut(p + l, n - l, c);
  return makeStringRef(p + l, r);
}

export function builtin_trim_left(s: usize, c: usize): usize {
  needString('trim_left', 1, s);
  needString('trim_left', 2, c);
  const l = leftCut(stringPtr(s), stringLen(s), c);
  return makeStringRef(stringPtr(s) + l, stringLen(s) - l);
}

export function builtin_trim_right(s: usize, c: usize): usize {
  needString('trim_right', 1, s);
  needString('trim_right', 2, c);
  return makeStringRef(stringPtr(s), rightCut(stringPtr(s), stringLen(s), c));
}

export function builtin_trim_space(s: usize): usize {
  needString('trim_space', 1, s);
  const p = stringPtr(s);
  const n = stringLen(s);
  const l = leftCut(p, n, 0);
  return makeStringRef(p + l, rightCut(p + l, n - l, 0));
}

export function builtin_trim_prefix(s: usize, x: usize): usize {
  needString('trim_prefix', 1, s);
  needString('trim_prefix', 2, x);
  if (!bytesHasPrefix(stringPtr(s), stringLen(s), stringPtr(x), stringLen(x))) return s;
  return makeStringRef(stringPtr(s) + stringLen(x), stringLen(s) - stringLen(x));
}

export function builtin_trim_suffix(s: usize, x: usize): usize {
  needString('trim_suffix', 1, s);
  needString('trim_suffix', 2, x);
  if (!bytesHasSuffix(stringPtr(s), stringLen(s), stringPtr(x), stringLen(x))) return s;
  return makeStringRef(stringPtr(s), stringLen(s) - stringLen(x));
}

// ---- search and replace -----------------------------------------------

/** Go's strings.ReplaceAll; an empty `old` inserts `new` around every code point. */
function replaceAll(s: usize, old: usize, nw: usize): usize {
  const p = stringPtr(s);
  const n = stringLen(s);
  const op = stringPtr(old);
  const on = stringLen(old);
  const b = bufNew(n);
  if (on == 0) {
    let i: usize = 0;
    bufStr(b, nw);
    while (i < n) {
      const w = stepAt(p + i, n - i);
      bufBytes(b, p + i, w);
      bufStr(b, nw);
      i += w;
    }
    return bufToString(b);
  }
  let start: usize = 0;
  while (true) {
    const at = bytesIndexOf(p, n, op, on, start);
    if (at < 0) break;
    bufBytes(b, p + start, <usize>at - start);
    bufStr(b, nw);
    start = <usize>at + on;
  }
  if (start == 0) return s;
  bufBytes(b, p + start, n - start);
  return bufToString(b);
}

export function builtin_replace(s: usize, old: usize, nw: usize): usize {
  needString('replace', 1, s);
  needString('replace', 2, old);
  needString('replace', 3, nw);
  return replaceAll(s, old, nw);
}

/**
 * strings.replace_n(patterns, s): all patterns at once, left to right, no
 * overlaps; at a position the first pattern (in key order) that matches wins,
 * as Go's strings.Replacer. An empty key matches at every byte position
 * (and at the end), once: right after it matched, the other keys are tried
 * at the same position, then one byte is copied.
 */
export function builtin_strings_replace_n(pats: usize, s: usize): usize {
  needObject('strings.replace_n', 1, pats);
  const m = objectLen(pats);
  for (let k: usize = 0; k < m; k++) {
    if (load<u8>(objectKeyAt(pats, k)) != TYPE_STRING) failType('strings.replace_n', 'operand 1 non-string key found in pattern object');
    if (load<u8>(objectValueAt(pats, k)) != TYPE_STRING) failType('strings.replace_n', 'operand 1 non-string value found in pattern object');
  }
  needString('strings.replace_n', 2, s);
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n);
  let i: usize = 0;
  let prevEmpty = false;
  while (i <= n) {
    let matched = false;
    for (let k: usize = 0; k < m; k++) {
      const key = objectKeyAt(pats, k);
      const kn = stringLen(key);
      if (kn == 0 && prevEmpty) continue;
      if (bytesHasPrefix(p + i, n - i, stringPtr(key), kn)) {
        bufStr(b, objectValueAt(pats, k));
        i += kn;
        prevEmpty = kn == 0;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    prevEmpty = false;
    if (i == n) break;
    bufByte(b, load<u8>(p + i));
    i++;
  }
  return bufToString(b);
}

export function builtin_indexof(s: usize, x: usize): usize {
  needString('indexof', 1, s);
  needString('indexof', 2, x);
  // OPA refuses an empty needle (the wasm OPA builds answers 0; `opa eval` is the reference).
  if (stringLen(x) == 0) fail('indexof', 'empty search character');
  const p = stringPtr(s);
  const at = bytesIndexOf(p, stringLen(s), stringPtr(x), stringLen(x), 0);
  if (at < 0) return intValue(-1);
  return intValue(codePointCount(p, <usize>at));
}

export function builtin_indexof_n(s: usize, x: usize): usize {
  needString('indexof_n', 1, s);
  needString('indexof_n', 2, x);
  if (stringLen(x) == 0) fail('indexof_n', 'empty search character');
  const p = stringPtr(s);
  const n = stringLen(s);
  const r = makeArray(4);
  let from: usize = 0;
  while (from < n) {
    const at = bytesIndexOf(p, n, stringPtr(x), stringLen(x), from);
    if (at < 0) break;
    arrayAppend(r, intValue(codePointCount(p, <usize>at)));
    from = <usize>at + stepAt(p + <usize>at, n - <usize>at);
  }
  return r;
}

export function builtin_substring(s: usize, off: usize, len: usize): usize {
  needString('substring', 1, s);
  const o = needInt('substring', 2, off);
  const l = needInt('substring', 3, len);
  if (o < 0) fail('substring', 'negative offset');
  const p = stringPtr(s);
  const n = stringLen(s);
  const start = byteOffsetOfCodePoint(p, n, o);
  if (start >= n) return makeStringRef(p + n, 0);
  const end = l < 0 ? n : start + byteOffsetOfCodePoint(p + start, n - start, l);
  return makeStringRef(p + start, end - start);
}

/** Go's strings.Count: non-overlapping; an empty substring counts code points + 1. */
export function builtin_strings_count(s: usize, x: usize): usize {
  needString('strings.count', 1, s);
  needString('strings.count', 2, x);
  const p = stringPtr(s);
  const n = stringLen(s);
  const xn = stringLen(x);
  if (xn == 0) return intValue(codePointCount(p, n) + 1);
  let c: i64 = 0;
  let from: usize = 0;
  while (true) {
    const at = bytesIndexOf(p, n, stringPtr(x), xn, from);
    if (at < 0) break;
    c++;
    from = <usize>at + xn;
  }
  return intValue(c);
}

/** Reverses code points (combining marks are not kept together, as in OPA). */
export function builtin_strings_reverse(s: usize): usize {
  needString('strings.reverse', 1, s);
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n);
  let end = n;
  // Walk code points from the end: find each one's start.
  const starts = bufNew(16);
  let i: usize = 0;
  while (i < n) {
    bufByte(starts, <u32>(i & 0xff));
    bufByte(starts, <u32>((i >> 8) & 0xff));
    bufByte(starts, <u32>((i >> 16) & 0xff));
    bufByte(starts, <u32>((i >> 24) & 0xff));
    i += stepAt(p + i, n - i);
  }
  const sp = load<u32>(starts);
  let k = <usize>load<u32>(starts, 4) >> 2;
  while (k > 0) {
    k--;
    const st = <usize>load<u32>(<usize>sp + (k << 2));
    bufBytes(b, p + st, end - st);
    end = st;
  }
  return bufToString(b);
}

function anyMatch(name: string, a: usize, b: usize, suffix: bool): usize {
  checkStrings(name, 1, a);
  checkStrings(name, 2, b);
  const na = countOf(a);
  const nb = countOf(b);
  for (let i: usize = 0; i < na; i++) {
    const s = elementOf(a, i);
    for (let j: usize = 0; j < nb; j++) {
      const x = elementOf(b, j);
      const ok = suffix
        ? bytesHasSuffix(stringPtr(s), stringLen(s), stringPtr(x), stringLen(x))
        : bytesHasPrefix(stringPtr(s), stringLen(s), stringPtr(x), stringLen(x));
      if (ok) return makeBool(true);
    }
  }
  return makeBool(false);
}

function countOf(v: usize): usize {
  const t = load<u8>(v);
  return t == TYPE_STRING ? 1 : t == TYPE_ARRAY ? arrayLen(v) : setLen(v);
}

function elementOf(v: usize, i: usize): usize {
  const t = load<u8>(v);
  return t == TYPE_STRING ? v : t == TYPE_ARRAY ? arrayGet(v, i) : setAt(v, i);
}

function checkStrings(name: string, i: i32, v: usize): void {
  const t = load<u8>(v);
  if (t != TYPE_STRING && t != TYPE_ARRAY && t != TYPE_SET) typeError(name, i, 'one of {string, set, array}', v);
  const n = countOf(v);
  for (let k: usize = 0; k < n; k++) {
    const e = elementOf(v, k);
    if (load<u8>(e) != TYPE_STRING) {
      typeErrorContaining(name, i, t == TYPE_ARRAY ? 'array' : 'set', e);
    }
  }
}

/** OPA's "operand 1 must be array of strings but got array containing number". */
function typeErrorContaining(name: string, i: i32, kind: string, e: usize): void {
  msgBegin();
  msgStr('eval_type_error: ');
  msgStr(name);
  msgStr(i == 1 ? ': operand 1 must be ' : ': operand 2 must be ');
  msgStr(kind);
  msgStr(' of strings but got ');
  msgStr(kind);
  msgStr(' containing ');
  msgStr(typeName(e));
  msgAbort();
}

export function builtin_strings_any_prefix_match(a: usize, b: usize): usize {
  return anyMatch('strings.any_prefix_match', a, b, false);
}

export function builtin_strings_any_suffix_match(a: usize, b: usize): usize {
  return anyMatch('strings.any_suffix_match', a, b, true);
}


/** trace(note): always true; notes are not collected by compiled policies. */
export function builtin_trace(note: usize): usize {
  needString('trace', 1, note);
  return makeBool(true);
}
