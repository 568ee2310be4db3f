// OPA's total order over values: null < boolean < number < string < array <
// object < set; within a type: false < true, numbers numerically, strings by
// bytes, arrays element by element then by length, objects key/value pair by
// pair (in key order) then by size, sets element by element then by size.

import {
  TYPE_NULL, TYPE_BOOLEAN, TYPE_NUMBER, TYPE_STRING, TYPE_ARRAY, TYPE_OBJECT, TYPE_SET,
  stringLen, stringPtr, objectValueAt,
} from './value';
import { compareNumbers } from './number';

export function compareBytes(pa: usize, la: usize, pb: usize, lb: usize): i32 {
  const n = la < lb ? la : lb;
  for (let i: usize = 0; i < n; i++) {
    const x = load<u8>(pa + i);
    const y = load<u8>(pb + i);
    if (x != y) return x < y ? -1 : 1;
  }
  return la == lb ? 0 : la < lb ? -1 : 1;
}

function compareSlots(a: usize, b: usize, withValues: bool): i32 {
  const la = <usize>load<u32>(a, 4);
  const lb = <usize>load<u32>(b, 4);
  const n = la < lb ? la : lb;
  const sa = <usize>load<u32>(a, 12);
  const sb = <usize>load<u32>(b, 12);
  for (let i: usize = 0; i < n; i++) {
    const c = compare(<usize>load<u32>(sa + (i << 2)), <usize>load<u32>(sb + (i << 2)));
    if (c != 0) return c;
    if (withValues) {
      const d = compare(objectValueAt(a, i), objectValueAt(b, i));
      if (d != 0) return d;
    }
  }
  return la == lb ? 0 : la < lb ? -1 : 1;
}

/** -1, 0 or 1. Both operands must be defined. */
export function compare(a: usize, b: usize): i32 {
  if (a == b) return 0;
  const ta = load<u8>(a);
  const tb = load<u8>(b);
  if (ta != tb) return ta < tb ? -1 : 1;
  switch (ta) {
    case TYPE_NULL: return 0;
    case TYPE_BOOLEAN: {
      const x = load<u8>(a, 1);
      const y = load<u8>(b, 1);
      return x == y ? 0 : x < y ? -1 : 1;
    }
    case TYPE_NUMBER: return compareNumbers(a, b);
    case TYPE_STRING: return compareBytes(stringPtr(a), stringLen(a), stringPtr(b), stringLen(b));
    case TYPE_ARRAY: return compareSlots(a, b, false);
    case TYPE_OBJECT: return compareSlots(a, b, true);
    case TYPE_SET: return compareSlots(a, b, false);
  }
  return 0;
}

export function equal(a: usize, b: usize): bool {
  if (a == b) return true;
  const t = load<u8>(a);
  if (t != load<u8>(b)) return false;
  if (t == TYPE_STRING) {
    const n = stringLen(a);
    if (n != stringLen(b)) return false;
    return memory.compare(stringPtr(a), stringPtr(b), n) == 0;
  }
  if (t >= TYPE_ARRAY && load<u32>(a, 4) != load<u32>(b, 4)) return false;
  return compare(a, b) == 0;
}

