// Regex builtins on the runtime's own RE2-syntax engine (regex-parse.ts,
// regex-vm.ts): regex.match, regex.is_valid, regex.find_n,
// regex.find_all_string_submatch_n, regex.replace, regex.split. An invalid
// pattern is a builtin error carrying Go's message.

import {
  TYPE_STRING, makeBool, makeStringRef, makeArray, arrayAppend, stringLen, stringPtr,
} from '../value';
import { msgBegin, msgStr, msgBytes, msgAbort } from '../abort';
import { needString, needInt, stepAt, bufNew, bufByte, bufBytes, bufPtr, bufLen, bufToString, fail } from './util';
import { reCompile, reExec, reCaps, reErrorMessage, progGroups } from './regex-vm';
import { reError, reErrorAt, reErrorLen, groupIndex } from './regex-parse';

/** Compiles the pattern string `pat`, or aborts with Go's error text. */
export function compileOrFail(name: string, pat: usize): usize {
  const prog = reCompile(stringPtr(pat), stringLen(pat));
  if (prog == 0) {
    msgBegin();
    msgStr('eval_builtin_error: ');
    msgStr(name);
    msgStr(': error parsing regexp: ');
    msgStr(reErrorMessage());
    if (reError !== null) {
      msgStr(': `');
      msgBytes(reErrorAt, reErrorLen);
      msgStr('`');
    }
    msgAbort();
  }
  return prog;
}

export function builtin_regex_match(pat: usize, s: usize): usize {
  needString('regex.match', 1, pat);
  needString('regex.match', 2, s);
  const prog = compileOrFail('regex.match', pat);
  return makeBool(reExec(prog, stringPtr(s), stringLen(s), 0, false));
}

export function builtin_regex_is_valid(pat: usize): usize {
  if (load<u8>(pat) != TYPE_STRING) return makeBool(false);
  return makeBool(reCompile(stringPtr(pat), stringLen(pat)) != 0);
}

/**
 * Go's allMatches: successive matches left to right, at most `max` (all
 * when negative); an empty match right after a previous match is skipped.
 * Calls back through `each` with the match's capture slots in reCaps.
 */
function forEachMatch(prog: usize, p: usize, n: usize, max: i64, groups: bool, kind: i32, out: usize): void {
  let pos: usize = 0;
  let found: i64 = 0;
  let prevEnd: i32 = -1;
  while ((max < 0 || found < max) && pos <= n) {
    if (!reExec(prog, p, n, pos, groups)) break;
    const ms = load<i32>(reCaps);
    const me = load<i32>(reCaps, 4);
    let accept = true;
    if (<usize>me == pos) {
      if (ms == prevEnd) accept = false;
      pos += pos < n ? stepAt(p + pos, n - pos) : 1;
    } else {
      pos = <usize>me;
    }
    prevEnd = me;
    if (!accept) continue;
    found++;
    deliver(kind, out, p, groups ? progGroups(prog) : 0);
  }
}

const KIND_FIND: i32 = 0;
const KIND_SUBMATCH: i32 = 1;
const KIND_INDEX: i32 = 2;

function deliver(kind: i32, out: usize, p: usize, groups: i32): void {
  const ms = load<i32>(reCaps);
  const me = load<i32>(reCaps, 4);
  if (kind == KIND_FIND) {
    arrayAppend(out, makeStringRef(p + <usize>ms, <usize>(me - ms)));
  } else if (kind == KIND_SUBMATCH) {
    const m = makeArray(<usize>groups + 1);
    for (let g: i32 = 0; g <= groups; g++) {
      const s = load<i32>(reCaps + (<usize>(2 * g) << 2));
      const e = load<i32>(reCaps + (<usize>(2 * g + 1) << 2));
      arrayAppend(m, s < 0 || e < 0 ? makeStringRef(p, 0) : makeStringRef(p + <usize>s, <usize>(e - s)));
    }
    arrayAppend(out, m);
  } else {
    // Match bounds as two u32s in a byte buffer.
    for (let k = 0; k < 4; k++) bufByte(out, (<u32>ms >> (k * 8)) & 0xff);
    for (let k = 0; k < 4; k++) bufByte(out, (<u32>me >> (k * 8)) & 0xff);
  }
}

export function builtin_regex_find_n(pat: usize, s: usize, n: usize): usize {
  needString('regex.find_n', 1, pat);
  needString('regex.find_n', 2, s);
  const max = needInt('regex.find_n', 3, n);
  const prog = compileOrFail('regex.find_n', pat);
  const out = makeArray(4);
  forEachMatch(prog, stringPtr(s), stringLen(s), max, false, KIND_FIND, out);
  return out;
}

export function builtin_regex_find_all_string_submatch_n(pat: usize, s: usize, n: usize): usize {
  needString('regex.find_all_string_submatch_n', 1, pat);
  needString('regex.find_all_string_submatch_n', 2, s);
  const max = needInt('regex.find_all_string_submatch_n', 3, n);
  const prog = compileOrFail('regex.find_all_string_submatch_n', pat);
  const out = makeArray(4);
  forEachMatch(prog, stringPtr(s), stringLen(s), max, true, KIND_SUBMATCH, out);
  return out;
}

/** Go's regexp.Split(s, -1). */
export function builtin_regex_split(pat: usize, s: usize): usize {
  needString('regex.split', 1, pat);
  needString('regex.split', 2, s);
  const prog = compileOrFail('regex.split', pat);
  const p = stringPtr(s);
  const n = stringLen(s);
  const out = makeArray(4);
  if (stringLen(pat) > 0 && n == 0) {
    arrayAppend(out, makeStringRef(p, 0));
    return out;
  }
  const bounds = bufNew(64);
  forEachMatch(prog, p, n, -1, false, KIND_INDEX, bounds);
  const bp = load<u32>(bounds);
  const count = <usize>load<u32>(bounds, 4) / 8;
  let beg: usize = 0;
  let end: usize = 0;
  for (let i: usize = 0; i < count; i++) {
    const ms = <usize>load<u32>(<usize>bp + i * 8);
    const me = <usize>load<u32>(<usize>bp + i * 8 + 4);
    end = ms;
    if (me != 0) arrayAppend(out, makeStringRef(p + beg, end - beg));
    beg = me;
  }
  if (end != n) arrayAppend(out, makeStringRef(p + beg, n - beg));
  return out;
}

/** Appends the template with $1, ${1}, $name, ${name} and $$ expanded (Go's Expand). */
function expand(b: usize, tp: usize, tn: usize, sp: usize, groups: i32): void {
  let i: usize = 0;
  while (i < tn) {
    const c = load<u8>(tp + i);
    if (c != 0x24) { bufByte(b, c); i++; continue; }
    i++;
    if (i < tn && load<u8>(tp + i) == 0x24) { bufByte(b, 0x24); i++; continue; }
    let nameStart = i;
    let nameEnd = i;
    let braces = false;
    if (i < tn && load<u8>(tp + i) == 0x7b) {
      braces = true;
      nameStart = i + 1;
      nameEnd = nameStart;
      while (nameEnd < tn && isNameByte(load<u8>(tp + nameEnd))) nameEnd++;
      if (nameEnd >= tn || load<u8>(tp + nameEnd) != 0x7d || nameEnd == nameStart) { bufByte(b, 0x24); continue; }
    } else {
      while (nameEnd < tn && isNameByte(load<u8>(tp + nameEnd))) nameEnd++;
      if (nameEnd == nameStart) { bufByte(b, 0x24); continue; }
    }
    i = braces ? nameEnd + 1 : nameEnd;
    let g: i32 = -1;
    let num: i32 = 0;
    let numeric = true;
    for (let k = nameStart; k < nameEnd; k++) {
      const d = <u32>load<u8>(tp + k) - 0x30;
      if (d >= 10 || num > 100000) { numeric = false; break; }
      num = num * 10 + <i32>d;
    }
    g = numeric ? num : groupIndex(tp + nameStart, nameEnd - nameStart);
    if (g < 0 || g > groups) continue;
    const s = load<i32>(reCaps + (<usize>(2 * g) << 2));
    const e = load<i32>(reCaps + (<usize>(2 * g + 1) << 2));
    if (s >= 0 && e >= 0) bufBytes(b, sp + <usize>s, <usize>(e - s));
  }
}

function isNameByte(c: u32): bool {
  return c - 0x30 < 10 || (c | 0x20) - 0x61 < 26 || c == 0x5f;
}

/** regex.replace(s, pattern, value): Go's ReplaceAllString. */
export function builtin_regex_replace(s: usize, pat: usize, val: usize): usize {
  needString('regex.replace', 1, s);
  needString('regex.replace', 2, pat);
  needString('regex.replace', 3, val);
  const prog = compileOrFail('regex.replace', pat);
  const groups = progGroups(prog);
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n);
  let lastEnd: usize = 0;
  let searchPos: usize = 0;
  let any = false;
  while (searchPos <= n) {
    if (!reExec(prog, p, n, searchPos, true)) break;
    any = true;
    const ms = <usize>load<i32>(reCaps);
    const me = <usize>load<i32>(reCaps, 4);
    bufBytes(b, p + lastEnd, ms - lastEnd);
    if (me > lastEnd || ms == 0) expand(b, stringPtr(val), stringLen(val), p, groups);
    lastEnd = me;
    const w: usize = searchPos < n ? stepAt(p + searchPos, n - searchPos) : 1;
    if (searchPos + w > me) searchPos += w;
    else if (searchPos + 1 > me) searchPos++;
    else searchPos = me;
  }
  if (!any) return s;
  bufBytes(b, p + lastEnd, n - lastEnd);
  return bufToString(b);
}

/** Go's regexp.QuoteMeta. */
function quoteMeta(b: usize, p: usize, n: usize): void {
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x5c || c == 0x2e || c == 0x2b || c == 0x2a || c == 0x3f || c == 0x28 || c == 0x29 || c == 0x7c ||
      c == 0x5b || c == 0x5d || c == 0x7b || c == 0x7d || c == 0x5e || c == 0x24) bufByte(b, 0x5c);
    bufByte(b, c);
  }
}

/**
 * regex.template_match(template, value, start, end): the template's text
 * outside the delimiters is literal, inside it is a regular expression;
 * the whole value must match.
 */
export function builtin_regex_template_match(tpl: usize, s: usize, ds: usize, de: usize): usize {
  const name = 'regex.template_match';
  needString(name, 1, tpl);
  needString(name, 2, s);
  needString(name, 3, ds);
  needString(name, 4, de);
  if (stringLen(ds) == 0 || stringLen(de) == 0) fail(name, 'delimiters must not be empty');
  const open = load<u8>(stringPtr(ds));
  const close = load<u8>(stringPtr(de));
  const p = stringPtr(tpl);
  const n = stringLen(tpl);
  const b = bufNew(n * 2 + 4);
  bufByte(b, 0x5e);
  let level = 0;
  let litStart: usize = 0;
  let patStart: usize = 0;
  for (let i: usize = 0; i < n; i++) {
    const c = load<u8>(p + i);
    if (c == open) {
      level++;
      if (level == 1) { quoteMeta(b, p + litStart, i - litStart); patStart = i + 1; }
    } else if (c == close) {
      level--;
      if (level == 0) {
        bufByte(b, 0x28);
        if (i == patStart) bufBytes(b, DEFAULT_PATTERN, 5);
        else bufBytes(b, p + patStart, i - patStart);
        bufByte(b, 0x29);
        litStart = i + 1;
      } else if (level < 0) fail(name, 'unbalanced braces in template');
    }
  }
  if (level != 0) fail(name, 'unbalanced braces in template');
  quoteMeta(b, p + litStart, n - litStart);
  bufByte(b, 0x24);
  const prog = reCompile(bufPtr(b), bufLen(b));
  if (prog == 0) fail(name, 'invalid regular expression in template');
  return makeBool(reExec(prog, stringPtr(s), stringLen(s), 0, false));
}

const DEFAULT_PATTERN = memory.data<u8>([0x5b, 0x5e, 0x2f, 0x5d, 0x2b]); // [^/]+, for an empty {}
