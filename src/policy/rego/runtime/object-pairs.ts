// Building an object from key/value pairs in any order in O(n log n), for
// JSON objects (whose keys arrive in the writer's order, not OPA's).

import { makeObject } from './value';
import { compare } from './compare';
import { sortByFirstValue } from './sort';

/**
 * An object from `n` key/value pairs at `pairs` (u32 key, u32 value each),
 * in any order; for a repeated key the last pair wins. O(n log n): a
 * stable merge sort of the pairs (in place; `pairs` is consumed).
 */
export function makeObjectFromPairs(pairs: usize, n: usize): usize {
  let sorted = true;
  for (let i: usize = 1; i < n && sorted; i++) {
    if (compare(<usize>load<u32>(pairs + ((i - 1) << 3)), <usize>load<u32>(pairs + (i << 3))) >= 0) sorted = false;
  }
  if (!sorted) sortByFirstValue(pairs, n, 3);
  const o = makeObject(n);
  const keys = <usize>load<u32>(o, 12);
  const vals = <usize>load<u32>(o, 16);
  let m: usize = 0;
  for (let i: usize = 0; i < n; i++) {
    const k = <usize>load<u32>(pairs + (i << 3));
    const v = <usize>load<u32>(pairs + (i << 3), 4);
    if (m > 0 && !sorted && compare(<usize>load<u32>(keys + ((m - 1) << 2)), k) == 0) {
      store<u32>(vals + ((m - 1) << 2), <u32>v);
      continue;
    }
    store<u32>(keys + (m << 2), <u32>k);
    store<u32>(vals + (m << 2), <u32>v);
    m++;
  }
  store<u32>(o, <u32>m, 4);
  return o;
}
