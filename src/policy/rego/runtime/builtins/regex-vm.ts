// Compiles a regex syntax tree (regex-parse.ts) to a small instruction
// program and runs it as a Pike VM: a breadth-first simulation of all
// threads at once, in priority order, so matching takes time linear in the
// text (no catastrophic backtracking on hostile input) and gives Go's
// leftmost-first results and submatches.
//
// Program header (24 bytes): instruction count @0, capture slots @4,
// instructions @8, groups @12. Instruction (12 bytes): op u8 @0, fold u8 @1,
// x i32 @4, y i32 @8.

import { alloc, heapGet, heapSet } from '../memory';
import {
  parseRegex, reGroups, N_EMPTY, N_LIT, N_ANY, N_CLASS, N_ASSERT, N_CAP, N_CAT, N_ALT, N_REP,
  F_I, F_S, F_LAZY, A_BOT, A_EOT, A_BOL, A_EOL, A_WORD, A_NOTWORD, reError,
} from './regex-parse';
import { decodeAt, stepAt, bufNew, bufByte, bufReserve, bufPtr, bufLen } from './util';
import { lowerCase, upperCase } from './unicode';

export const I_CHAR: u8 = 1;
export const I_ANY: u8 = 2;
export const I_CLASS: u8 = 3;
export const I_SPLIT: u8 = 4;
export const I_JMP: u8 = 5;
export const I_SAVE: u8 = 6;
export const I_ASSERT: u8 = 7;
export const I_MATCH: u8 = 8;

const MAX_INSTRUCTIONS = 20000;

let code: usize = 0; // buffer of instructions while compiling
let tooLarge = false;

function emit(op: u8, x: i32, y: i32, fold: u8): i32 {
  const i = <i32>(bufLen(code) / 12);
  if (i >= MAX_INSTRUCTIONS) { tooLarge = true; return i; }
  bufReserve(code, 12);
  store<u32>(code, <u32>(bufLen(code) + 12), 4);
  const p = bufPtr(code) + <usize>i * 12;
  store<u8>(p, op);
  store<u8>(p, fold, 1);
  store<i32>(p, x, 4);
  store<i32>(p, y, 8);
  return i;
}

function count(): i32 { return <i32>(bufLen(code) / 12); }
function patchX(i: i32, v: i32): void { if (!tooLarge) store<i32>(bufPtr(code) + <usize>i * 12, v, 4); }
function patchY(i: i32, v: i32): void { if (!tooLarge) store<i32>(bufPtr(code) + <usize>i * 12, v, 8); }

/** True when the node can match the empty string. */
function nullable(n: usize): bool {
  switch (load<u8>(n)) {
    case N_EMPTY:
    case N_ASSERT: return true;
    case N_CAP: return nullable(<usize>load<u32>(n, 12));
    case N_CAT: {
      for (let c = <usize>load<u32>(n, 12); c != 0; c = <usize>load<u32>(c, 16)) if (!nullable(c)) return false;
      return true;
    }
    case N_ALT: {
      for (let c = <usize>load<u32>(n, 12); c != 0; c = <usize>load<u32>(c, 16)) if (nullable(c)) return true;
      return false;
    }
    case N_REP: return load<i32>(n, 4) == 0 || nullable(<usize>load<u32>(n, 12));
  }
  return false;
}

function compileNode(n: usize): void {
  if (tooLarge) return;
  const kind = load<u8>(n);
  const fl = load<u8>(n, 1);
  switch (kind) {
    case N_EMPTY: return;
    case N_LIT: emit(I_CHAR, load<i32>(n, 20), 0, fl & F_I); return;
    case N_ANY: emit(I_ANY, (fl & F_S) != 0 ? 1 : 0, 0, 0); return;
    case N_CLASS: emit(I_CLASS, load<i32>(n, 20), 0, 0); return;
    case N_ASSERT: emit(I_ASSERT, load<i32>(n, 20), 0, 0); return;
    case N_CAP: {
      const k = load<i32>(n, 24);
      emit(I_SAVE, 2 * k, 0, 0);
      compileNode(<usize>load<u32>(n, 12));
      emit(I_SAVE, 2 * k + 1, 0, 0);
      return;
    }
    case N_CAT: {
      for (let c = <usize>load<u32>(n, 12); c != 0; c = <usize>load<u32>(c, 16)) compileNode(c);
      return;
    }
    case N_ALT: {
      const jumps = bufNew(16);
      let c = <usize>load<u32>(n, 12);
      while (c != 0) {
        const next = <usize>load<u32>(c, 16);
        if (next == 0) { compileNode(c); break; }
        const s = emit(I_SPLIT, 0, 0, 0);
        patchX(s, s + 1);
        compileNode(c);
        const j = emit(I_JMP, 0, 0, 0);
        for (let k = 0; k < 4; k++) bufByte(jumps, (<u32>j >> (k * 8)) & 0xff);
        patchY(s, count());
        c = next;
      }
      const end = count();
      const m = bufLen(jumps) / 4;
      for (let i: usize = 0; i < m; i++) patchX(load<i32>(bufPtr(jumps) + i * 4), end);
      return;
    }
    case N_REP: {
      const child = <usize>load<u32>(n, 12);
      const min = load<i32>(n, 4);
      const max = load<i32>(n, 8);
      const lazy = (fl & F_LAZY) != 0;
      if (max < 0) {
        // As Go compiles them: x{n,} is n-1 copies then x+; x* is a loop,
        // or (x+)? when x can match empty (priority order of golang.org/issue/46123).
        for (let i = 1; i < min; i++) compileNode(child);
        if (min == 0 && !nullable(child)) {
          const l = emit(I_SPLIT, 0, 0, 0);
          compileNode(child);
          emit(I_JMP, l, 0, 0);
          if (lazy) { patchX(l, count()); patchY(l, l + 1); } else { patchX(l, l + 1); patchY(l, count()); }
          return;
        }
        let q: i32 = -1;
        if (min == 0) q = emit(I_SPLIT, 0, 0, 0);
        const body = count();
        compileNode(child);
        const back = emit(I_SPLIT, 0, 0, 0);
        const out = count();
        if (lazy) { patchX(back, out); patchY(back, body); } else { patchX(back, body); patchY(back, out); }
        if (q >= 0) { if (lazy) { patchX(q, out); patchY(q, body); } else { patchX(q, body); patchY(q, out); } }
        return;
      }
      for (let i = 0; i < min; i++) compileNode(child);
      const splits = bufNew(16);
      for (let i = min; i < max; i++) {
        const s = emit(I_SPLIT, 0, 0, 0);
        for (let k = 0; k < 4; k++) bufByte(splits, (<u32>s >> (k * 8)) & 0xff);
        compileNode(child);
      }
      const end = count();
      const m = bufLen(splits) / 4;
      for (let i: usize = 0; i < m; i++) {
        const s = load<i32>(bufPtr(splits) + i * 4);
        if (lazy) { patchX(s, end); patchY(s, s + 1); } else { patchX(s, s + 1); patchY(s, end); }
      }
      return;
    }
  }
}

/** Compiles a pattern. Returns the program, or 0 with reError (regex-parse) set. */
export function reCompile(p: usize, n: usize): usize {
  const root = parseRegex(p, n);
  if (root == 0) return 0;
  code = bufNew(256);
  tooLarge = false;
  emit(I_SAVE, 0, 0, 0);
  compileNode(root);
  emit(I_SAVE, 1, 0, 0);
  emit(I_MATCH, 0, 0, 0);
  if (tooLarge) { compileError = 'expression too large'; return 0; }
  const prog = alloc(24);
  store<u32>(prog, <u32>count());
  store<u32>(prog, <u32>(2 * (reGroups + 1)), 4);
  store<u32>(prog, <u32>bufPtr(code), 8);
  store<u32>(prog, <u32>reGroups, 12);
  return prog;
}

/** Set when compiling fails after parsing (reError is null then). */
export let compileError: string | null = null;

export function reErrorMessage(): string {
  if (reError !== null) return reError!;
  if (compileError !== null) return compileError!;
  return 'invalid regular expression';
}

export function progGroups(prog: usize): i32 { return load<i32>(prog, 12); }

// ---- execution -----------------------------------------------------------

let insts: usize = 0;
let nInst: i32 = 0;
let nCap: i32 = 0;
let text: usize = 0;
let textLen: usize = 0;
let marks: usize = 0;
let stamp: u32 = 0;

// A thread list: pcs @0 (i32 × nInst), caps @4 (i32 × nInst × nCap), count @8, stamp @12.
function newList(): usize {
  const l = alloc(16);
  store<u32>(l, <u32>alloc(<usize>nInst << 2));
  store<u32>(l, <u32>alloc((<usize>nInst * <usize>nCap) << 2), 4);
  store<u32>(l, 0, 8);
  store<u32>(l, 0, 12);
  return l;
}

function clearList(l: usize): void {
  store<u32>(l, 0, 8);
  stamp++;
  store<u32>(l, stamp, 12);
}

function isWordByte(c: u32): bool {
  return c - 0x30 < 10 || (c | 0x20) - 0x61 < 26 || c == 0x5f;
}

function assertHolds(kind: i32, pos: usize): bool {
  switch (kind) {
    case A_BOT: return pos == 0;
    case A_EOT: return pos == textLen;
    case A_BOL: return pos == 0 || load<u8>(text + pos - 1) == 0x0a;
    case A_EOL: return pos == textLen || load<u8>(text + pos) == 0x0a;
    case A_WORD:
    case A_NOTWORD: {
      const before = pos > 0 && isWordByte(load<u8>(text + pos - 1));
      const after = pos < textLen && isWordByte(load<u8>(text + pos));
      return (before != after) == (kind == A_WORD);
    }
  }
  return false;
}

function addThread(l: usize, pc: i32, pos: usize, caps: usize): void {
  const mark = marks + (<usize>pc << 2);
  const st = load<u32>(l, 12);
  if (load<u32>(mark) == st) return;
  store<u32>(mark, st);
  const ins = insts + <usize>pc * 12;
  const op = load<u8>(ins);
  if (op == I_JMP) { addThread(l, load<i32>(ins, 4), pos, caps); return; }
  if (op == I_SPLIT) {
    addThread(l, load<i32>(ins, 4), pos, caps);
    addThread(l, load<i32>(ins, 8), pos, caps);
    return;
  }
  if (op == I_SAVE) {
    const slot = load<i32>(ins, 4);
    if (slot < nCap) {
      const at = caps + (<usize>slot << 2);
      const old = load<i32>(at);
      store<i32>(at, <i32>pos);
      addThread(l, pc + 1, pos, caps);
      store<i32>(at, old);
    } else addThread(l, pc + 1, pos, caps);
    return;
  }
  if (op == I_ASSERT) {
    if (assertHolds(load<i32>(ins, 4), pos)) addThread(l, pc + 1, pos, caps);
    return;
  }
  const k = <usize>load<u32>(l, 8);
  store<i32>(<usize>load<u32>(l) + (k << 2), pc);
  memory.copy(<usize>load<u32>(l, 4) + ((k * <usize>nCap) << 2), caps, <usize>nCap << 2);
  store<u32>(l, <u32>(k + 1), 8);
}

function classHas(cls: usize, c: u32): bool {
  let lo: i32 = 0;
  let hi: i32 = load<i32>(cls) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = cls + 4 + (<usize>mid << 3);
    if (c < load<u32>(r)) hi = mid - 1;
    else if (c > load<u32>(r, 4)) lo = mid + 1;
    else return true;
  }
  return false;
}

function consumes(ins: usize, c: u32): bool {
  const op = load<u8>(ins);
  if (op == I_CHAR) {
    const want = load<u32>(ins, 4);
    if (c == want) return true;
    return load<u8>(ins, 1) != 0 && (lowerCase(c) == lowerCase(want) || upperCase(c) == upperCase(want));
  }
  if (op == I_ANY) return c != 0x0a || load<i32>(ins, 4) != 0;
  if (op == I_CLASS) return classHas(<usize>load<u32>(ins, 4), c);
  return false;
}

/** The capture slots of the last successful reExec (nCap i32s; -1 = unset). */
export let reCaps: usize = 0;

/**
 * Searches `prog` in [t, t+n) from byte `start`; true when it matches, with
 * reCaps holding the match (slots 0 and 1) and, if `groups`, the submatches.
 * Scratch memory is released before returning (only reCaps stays).
 */
export function reExec(prog: usize, t: usize, n: usize, start: usize, groups: bool): bool {
  nInst = load<i32>(prog);
  nCap = groups ? load<i32>(prog, 4) : 2;
  insts = <usize>load<u32>(prog, 8);
  text = t;
  textLen = n;
  const result = alloc(<usize>nCap << 2);
  const mark = heapGet();
  marks = alloc(<usize>nInst << 2);
  memory.fill(marks, 0, <usize>nInst << 2);
  stamp = 0;
  let clist = newList();
  let nlist = newList();
  clearList(clist);
  const tcaps = alloc(<usize>nCap << 2);
  let matched = false;
  let pos = start;
  while (true) {
    if (!matched) {
      for (let i: i32 = 0; i < nCap; i++) store<i32>(tcaps + (<usize>i << 2), -1);
      addThread(clist, 0, pos, tcaps);
    }
    const cnt = <usize>load<u32>(clist, 8);
    let c: u32 = 0;
    let w: usize = 0;
    if (pos < n) { c = decodeAt(t + pos, n - pos); w = stepAt(t + pos, n - pos); }
    if (cnt == 0) {
      // No thread alive: done once matched, else try the next start position.
      if (matched || pos >= n) break;
      clearList(clist);
      pos += w;
      continue;
    }
    clearList(nlist);
    const pcs = <usize>load<u32>(clist);
    const caps = <usize>load<u32>(clist, 4);
    for (let i: usize = 0; i < cnt; i++) {
      const pc = load<i32>(pcs + (i << 2));
      const ins = insts + <usize>pc * 12;
      const tc = caps + ((i * <usize>nCap) << 2);
      if (load<u8>(ins) == I_MATCH) {
        memory.copy(result, tc, <usize>nCap << 2);
        matched = true;
        break; // lower-priority threads are cut off
      }
      if (pos < n && consumes(ins, c)) addThread(nlist, pc + 1, pos + w, tc);
    }
    const tmp = clist;
    clist = nlist;
    nlist = tmp;
    if (pos >= n) break;
    pos += w;
  }
  heapSet(mark);
  reCaps = result;
  return matched;
}
