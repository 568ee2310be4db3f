// Aggregates over arrays and sets: sum, product, max, min, sort.

import {
  TYPE_NUMBER, TYPE_ARRAY, TYPE_SET, makeArray, arrayAppend, makeNumberI64, arrayLen, arrayGet, setLen, setAt, compare,
} from '../value';
import { numAdd, numMul } from '../number';
import { typeError } from '../errors';
import { sortByFirstValue } from '../sort';

function collectionLen(name: string, v: usize): usize {
  const t = load<u8>(v);
  if (t == TYPE_ARRAY) return arrayLen(v);
  if (t == TYPE_SET) return setLen(v);
  typeError(name, 1, 'any of {array, set}', v);
  return 0;
}

// @ts-ignore: decorator
@inline function elementAt(v: usize, i: usize): usize {
  return load<u8>(v) == TYPE_ARRAY ? arrayGet(v, i) : setAt(v, i);
}

function fold(name: string, v: usize, start: i64, mul: bool): usize {
  const n = collectionLen(name, v);
  let acc = makeNumberI64(start);
  for (let i: usize = 0; i < n; i++) {
    const e = elementAt(v, i);
    if (load<u8>(e) != TYPE_NUMBER) {
      typeError(name, 1, load<u8>(v) == TYPE_ARRAY ? 'array of numbers' : 'set of numbers', v);
    }
    acc = mul ? numMul(acc, e) : numAdd(acc, e);
  }
  return acc;
}

export function builtin_sum(v: usize): usize { return fold('sum', v, 0, false); }
export function builtin_product(v: usize): usize { return fold('product', v, 1, true); }

function extreme(name: string, v: usize, sign: i32): usize {
  const n = collectionLen(name, v);
  if (n == 0) return 0;
  if (load<u8>(v) == TYPE_SET) return sign > 0 ? setAt(v, n - 1) : setAt(v, 0);
  let best = arrayGet(v, 0);
  for (let i: usize = 1; i < n; i++) {
    const e = arrayGet(v, i);
    if (compare(e, best) * sign > 0) best = e;
  }
  return best;
}

export function builtin_max(v: usize): usize { return extreme('max', v, 1); }
export function builtin_min(v: usize): usize { return extreme('min', v, -1); }


export function builtin_sort(v: usize): usize {
  const n = collectionLen('sort', v);
  const r = makeArray(n);
  for (let i: usize = 0; i < n; i++) arrayAppend(r, elementAt(v, i));
  if (load<u8>(v) == TYPE_ARRAY) sortByFirstValue(<usize>load<u32>(r, 12), n, 2);
  return r;
}
