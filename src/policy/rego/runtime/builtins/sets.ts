// Set builtins over a set of sets: intersection and union. (The `&`, `|`
// and `-` operators are core builtins, in ../ops.ts.)

import { TYPE_SET, makeSet, setAdd, setLen, setAt, setContains } from '../value';
import { typeError } from '../errors';
import { needSet } from './util';

function checkSetOfSets(name: string, s: usize): void {
  needSet(name, 1, s);
  const n = setLen(s);
  for (let i: usize = 0; i < n; i++) if (load<u8>(setAt(s, i)) != TYPE_SET) typeError(name, 1, 'set of sets', s);
}

export function builtin_intersection(s: usize): usize {
  checkSetOfSets('intersection', s);
  const n = setLen(s);
  const r = makeSet();
  if (n == 0) return r;
  const first = setAt(s, 0);
  const m = setLen(first);
  for (let i: usize = 0; i < m; i++) {
    const e = setAt(first, i);
    let all = true;
    for (let k: usize = 1; k < n && all; k++) all = setContains(setAt(s, k), e);
    if (all) setAdd(r, e);
  }
  return r;
}

export function builtin_union(s: usize): usize {
  checkSetOfSets('union', s);
  const n = setLen(s);
  const r = makeSet();
  for (let k: usize = 0; k < n; k++) {
    const x = setAt(s, k);
    const m = setLen(x);
    for (let i: usize = 0; i < m; i++) setAdd(r, setAt(x, i));
  }
  return r;
}
