// regex.globs_match(a, b): whether some non-empty string matches both
// patterns. As in OPA, only . * + [ - ] and \ are special in them; each is
// translated to a regular expression, compiled, and the two programs are
// explored together (pairs of instructions) until both can accept at once.

import { makeBool, stringLen, stringPtr } from '../value';
import { alloc, allocZero } from '../memory';
import { msgBegin, msgStr, msgBytes, msgByte, msgAbort } from '../abort';
import { needString, bufNew, bufByte, bufLit, bufPtr, bufLen, decodeAt, stepAt, bufCodePoint, fail } from './util';
import { reCompile, I_CHAR, I_ANY, I_CLASS, I_SPLIT, I_JMP, I_SAVE, I_ASSERT, I_MATCH } from './regex-vm';
import { lowerCase, upperCase } from './unicode';

function globError(p: usize, n: usize, at: usize, what: string): void {
  msgBegin();
  msgStr('eval_builtin_error: regex.globs_match: input:');
  msgBytes(p, n);
  msgStr(', pos:');
  const x = at;
  if (x >= 10) msgByte(<u32>(0x30 + x / 10 % 10));
  msgByte(<u32>(0x30 + x % 10));
  msgStr(', ');
  msgStr(what);
  msgStr(': the input provided is invalid');
  msgAbort();
}

/** The pattern as an anchored regular expression in which only . * + [ - ] \ are special. */
function translate(s: usize): usize {
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n * 2 + 8);
  bufLit(b, '^(?s:');
  let inClass = false;
  let i: usize = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x5c) {
      if (i + 1 >= n) globError(p, n, i + 1, 'escape at end of input');
      bufByte(b, 0x5c);
      const w = stepAt(p + i + 1, n - i - 1);
      for (let k: usize = 0; k < w; k++) bufByte(b, load<u8>(p + i + 1 + k));
      i += 1 + w;
      continue;
    }
    if (c == 0x5b && !inClass) { inClass = true; bufByte(b, c); i++; continue; }
    if (c == 0x5d) {
      if (!inClass) globError(p, n, i + 1, "set-close ']' with no preceding '['");
      inClass = false;
      bufByte(b, c);
      i++;
      continue;
    }
    if (inClass || c == 0x2e || c == 0x2a || c == 0x2b) { bufByte(b, c); i++; continue; }
    const cp = decodeAt(p + i, n - i);
    if (cp < 0x80 && !((cp | 0x20) - 0x61 < 26 || cp - 0x30 < 10)) bufByte(b, 0x5c);
    bufCodePoint(b, cp);
    i += stepAt(p + i, n - i);
  }
  if (inClass) globError(p, n, n, "set-open '[' with no closing ']'");
  bufLit(b, ')$');
  return b;
}

// Program access.
// @ts-ignore: decorator
@inline function count(prog: usize): i32 { return load<i32>(prog); }
// @ts-ignore: decorator
@inline function ins(prog: usize, pc: i32): usize { return <usize>load<u32>(prog, 8) + <usize>pc * 12; }

/** Marks in `out` (one byte per pc) every consuming or MATCH instruction reachable from pc without input. */
function closure(prog: usize, pc: i32, out: usize, atStart: bool): void {
  if (pc >= count(prog) || load<u8>(out + <usize>pc) != 0) return;
  store<u8>(out + <usize>pc, 1);
  const i = ins(prog, pc);
  const op = load<u8>(i);
  if (op == I_JMP) { store<u8>(out + <usize>pc, 2); closure(prog, load<i32>(i, 4), out, atStart); }
  else if (op == I_SPLIT) { store<u8>(out + <usize>pc, 2); closure(prog, load<i32>(i, 4), out, atStart); closure(prog, load<i32>(i, 8), out, atStart); }
  else if (op == I_SAVE) { store<u8>(out + <usize>pc, 2); closure(prog, pc + 1, out, atStart); }
  else if (op == I_ASSERT) {
    store<u8>(out + <usize>pc, 2);
    // ^ holds only before the first character; the final $ is where MATCH is checked.
    if (load<i32>(i, 4) != 1 || atStart) closure(prog, pc + 1, out, atStart);
  }
}

/** The code point ranges an instruction consumes, appended to buffer `b` as (lo, hi) u32 pairs. */
function rangesOf(i: usize, b: usize): void {
  const op = load<u8>(i);
  if (op == I_ANY) { pair(b, 0, 0x10ffff); return; }
  if (op == I_CHAR) {
    const c = load<u32>(i, 4);
    pair(b, c, c);
    if (load<u8>(i, 1) != 0) { pair(b, lowerCase(c), lowerCase(c)); pair(b, upperCase(c), upperCase(c)); }
    return;
  }
  const cls = <usize>load<u32>(i, 4);
  const n = <usize>load<u32>(cls);
  for (let k: usize = 0; k < n; k++) pair(b, load<u32>(cls + 4 + k * 8), load<u32>(cls + 8 + k * 8));
}

function pair(b: usize, lo: u32, hi: u32): void {
  for (let k = 0; k < 4; k++) bufByte(b, (lo >> (k * 8)) & 0xff);
  for (let k = 0; k < 4; k++) bufByte(b, (hi >> (k * 8)) & 0xff);
}

function intersects(a: usize, b: usize): bool {
  const ra = bufNew(32);
  const rb = bufNew(32);
  rangesOf(a, ra);
  rangesOf(b, rb);
  for (let x: usize = 0; x < bufLen(ra); x += 8) {
    for (let y: usize = 0; y < bufLen(rb); y += 8) {
      const lo = max(load<u32>(bufPtr(ra) + x), load<u32>(bufPtr(rb) + y));
      const hi = min(load<u32>(bufPtr(ra) + x + 4), load<u32>(bufPtr(rb) + y + 4));
      if (lo <= hi) return true;
    }
  }
  return false;
}

function consumes(op: u8): bool {
  return op == I_CHAR || op == I_ANY || op == I_CLASS;
}

export function builtin_regex_globs_match(a: usize, b: usize): usize {
  needString('regex.globs_match', 1, a);
  needString('regex.globs_match', 2, b);
  const ta = translate(a);
  const tb = translate(b);
  const pa = reCompile(bufPtr(ta), bufLen(ta));
  const pb = reCompile(bufPtr(tb), bufLen(tb));
  if (pa == 0 || pb == 0) fail('regex.globs_match', 'invalid pattern');
  const na = count(pa);
  const nb = count(pb);
  if (<i64>na * <i64>nb > 4000000) fail('regex.globs_match', 'patterns too large');
  // States: pairs of pcs just after consuming one character each.
  const seen = allocZero(<usize>(na * nb));
  const queue = alloc(<usize>(na * nb) * 8 + 8);
  let head: usize = 0;
  let tail: usize = 0;
  const ca = alloc(<usize>na);
  const cb = alloc(<usize>nb);
  // The start: closures of pc 0, where ^ holds; acceptance needs one character first.
  let qa: i32 = 0;
  let qb: i32 = 0;
  let first = true;
  while (true) {
    memory.fill(ca, 0, <usize>na);
    memory.fill(cb, 0, <usize>nb);
    closure(pa, qa, ca, first);
    closure(pb, qb, cb, first);
    let acceptA = false;
    let acceptB = false;
    for (let i = 0; i < na; i++) if (load<u8>(ca + <usize>i) == 1 && load<u8>(ins(pa, i)) == I_MATCH) acceptA = true;
    for (let i = 0; i < nb; i++) if (load<u8>(cb + <usize>i) == 1 && load<u8>(ins(pb, i)) == I_MATCH) acceptB = true;
    if (!first && acceptA && acceptB) return makeBool(true);
    for (let i = 0; i < na; i++) {
      if (load<u8>(ca + <usize>i) != 1 || !consumes(load<u8>(ins(pa, i)))) continue;
      for (let j = 0; j < nb; j++) {
        if (load<u8>(cb + <usize>j) != 1 || !consumes(load<u8>(ins(pb, j)))) continue;
        const na1 = i + 1;
        const nb1 = j + 1;
        const key = <usize>(na1 % na) * <usize>nb + <usize>(nb1 % nb);
        if (load<u8>(seen + key) != 0 || !intersects(ins(pa, i), ins(pb, j))) continue;
        store<u8>(seen + key, 1);
        store<i32>(queue + tail * 8, na1);
        store<i32>(queue + tail * 8 + 4, nb1);
        tail++;
      }
    }
    if (head == tail) return makeBool(false);
    qa = load<i32>(queue + head * 8);
    qb = load<i32>(queue + head * 8 + 4);
    head++;
    first = false;
  }
  return makeBool(false);
}

