// One stable merge sort for the runtime: arrays of value pointers (`sort`)
// and key/value pairs (objects built from JSON) are both runs of fixed-size
// elements whose first word is a value, ordered by OPA's value order.

import { compare } from './compare';
import { alloc } from './memory';

/**
 * Sorts `n` elements of `1 << shift` bytes (shift 2: a value pointer; 3: a
 * key/value pair) at `base` by the value in each element's first word.
 * Stable, bottom-up, O(n log n) with one scratch buffer from the heap.
 */
export function sortByFirstValue(base: usize, n: usize, shift: usize): void {
  if (n < 2) return;
  let src = base;
  let dst = alloc(n << shift);
  for (let width: usize = 1; width < n; width <<= 1) {
    for (let lo: usize = 0; lo < n; lo += width << 1) {
      const mid = lo + width < n ? lo + width : n;
      const hi = lo + (width << 1) < n ? lo + (width << 1) : n;
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        // Take from the right run only when strictly smaller: that keeps it stable.
        if (compare(<usize>load<u32>(src + (j << shift)), <usize>load<u32>(src + (i << shift))) < 0) {
          memory.copy(dst + (k << shift), src + (j << shift), 1 << shift);
          j++;
        } else {
          memory.copy(dst + (k << shift), src + (i << shift), 1 << shift);
          i++;
        }
        k++;
      }
      if (i < mid) memory.copy(dst + (k << shift), src + (i << shift), (mid - i) << shift);
      else if (j < hi) memory.copy(dst + (k << shift), src + (j << shift), (hi - j) << shift);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src != base) memory.copy(base, src, n << shift);
}
