// Array builtins: array.concat, array.slice, array.reverse, array.flatten.

import { TYPE_ARRAY, makeArray, arrayAppend, arrayLen, arrayGet } from '../value';
import { needArray, needInt } from './util';

export function builtin_array_concat(a: usize, b: usize): usize {
  needArray('array.concat', 1, a);
  needArray('array.concat', 2, b);
  const na = arrayLen(a);
  const nb = arrayLen(b);
  const r = makeArray(na + nb);
  for (let i: usize = 0; i < na; i++) arrayAppend(r, arrayGet(a, i));
  for (let i: usize = 0; i < nb; i++) arrayAppend(r, arrayGet(b, i));
  return r;
}

/** array.slice(a, start, stop): indices clamped to the array; empty when stop <= start. */
export function builtin_array_slice(a: usize, start: usize, stop: usize): usize {
  needArray('array.slice', 1, a);
  let s = needInt('array.slice', 2, start);
  let e = needInt('array.slice', 3, stop);
  const n = <i64>arrayLen(a);
  if (s < 0) s = 0;
  if (e > n) e = n;
  if (e <= s) return makeArray(0);
  const r = makeArray(<usize>(e - s));
  for (let i = s; i < e; i++) arrayAppend(r, arrayGet(a, <usize>i));
  return r;
}

export function builtin_array_reverse(a: usize): usize {
  needArray('array.reverse', 1, a);
  const n = arrayLen(a);
  const r = makeArray(n);
  for (let i = n; i > 0; i--) arrayAppend(r, arrayGet(a, i - 1));
  return r;
}

/** One level of flattening: nested arrays' elements are spliced in. */
export function builtin_array_flatten(a: usize): usize {
  needArray('array.flatten', 1, a);
  const n = arrayLen(a);
  const r = makeArray(n);
  for (let i: usize = 0; i < n; i++) {
    const e = arrayGet(a, i);
    if (load<u8>(e) == TYPE_ARRAY) {
      const m = arrayLen(e);
      for (let k: usize = 0; k < m; k++) arrayAppend(r, arrayGet(e, k));
    } else arrayAppend(r, e);
  }
  return r;
}
