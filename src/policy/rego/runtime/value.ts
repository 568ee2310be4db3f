// The value model of the runtime: every Rego value is a pointer (i32) into
// linear memory to a small record whose first byte is its type. 0 means
// "undefined". Values are immutable once shared: only the code that created
// an array, object or set (and still owns it) may append or insert into it.
//
// Layouts (offsets in bytes; all records 8-byte aligned):
//   null    type@0                                              (8 bytes)
//   boolean type@0 value:u8@1                                   (8 bytes)
//   number  type@0 repr:u8@1 textLen:u32@4 i64|f64@8 textPtr:u32@16 (24 bytes)
//             repr INT: exact i64 @8; FLOAT: f64 @8;
//             REF: a literal kept as text (printed back as is), f64 @8;
//             BIGINT: an integer beyond i64 kept as text, f64 @8
//   string  type@0 len:u32@4 bytes:u32@8  (UTF-8, not NUL-terminated) (16 bytes)
//   array   type@0 len:u32@4 cap:u32@8 elems:u32@12 (value pointers)
//   object  type@0 len:u32@4 cap:u32@8 keys:u32@12 vals:u32@16, keys sorted
//   set     type@0 len:u32@4 cap:u32@8 elems:u32@12, elements sorted
// Objects and sets are kept sorted by OPA's value order (see compare.ts), so
// iteration and JSON output follow OPA's order and lookup is a binary search.
// The policy emitter writes string, null and boolean records into the
// module's static data with exactly these layouts.

import { alloc, grow } from './memory';
import { compare } from './compare';
import { parseNumberText } from './number';

export const TYPE_NULL: u8 = 1;
export const TYPE_BOOLEAN: u8 = 2;
export const TYPE_NUMBER: u8 = 3;
export const TYPE_STRING: u8 = 4;
export const TYPE_ARRAY: u8 = 5;
export const TYPE_OBJECT: u8 = 6;
export const TYPE_SET: u8 = 7;

export const NUM_INT: u8 = 1;
export const NUM_FLOAT: u8 = 2;
export const NUM_REF: u8 = 3;
export const NUM_BIGINT: u8 = 4;

const NULL_VALUE: usize = memory.data<u8>([1, 0, 0, 0, 0, 0, 0, 0], 8);
const FALSE_VALUE: usize = memory.data<u8>([2, 0, 0, 0, 0, 0, 0, 0], 8);
const TRUE_VALUE: usize = memory.data<u8>([2, 1, 0, 0, 0, 0, 0, 0], 8);

// @ts-ignore: decorator
@inline export function valueType(v: usize): u8 {
  return load<u8>(v);
}

// ---- null and booleans -------------------------------------------------

export function makeNull(): usize {
  return NULL_VALUE;
}

export function makeBool(b: bool): usize {
  return b ? TRUE_VALUE : FALSE_VALUE;
}

export function boolValue(v: usize): bool {
  return load<u8>(v, 1) != 0;
}

/** True when `v` is the boolean true. */
export function isTrue(v: usize): bool {
  return v != 0 && load<u8>(v) == TYPE_BOOLEAN && load<u8>(v, 1) != 0;
}

// ---- numbers (see number.ts for arithmetic and conversions) -----------

export function makeNumberI64(x: i64): usize {
  const v = alloc(24);
  store<u8>(v, TYPE_NUMBER);
  store<u8>(v, NUM_INT, 1);
  store<i64>(v, x, 8);
  return v;
}

/** A float; integral values that fit i64 become exact integers. */
export function makeNumberF64(x: f64): usize {
  if (x == Math.trunc(x) && x >= -9.2233720368547e18 && x <= 9.2233720368547e18) return makeNumberI64(<i64>x);
  const v = alloc(24);
  store<u8>(v, TYPE_NUMBER);
  store<u8>(v, NUM_FLOAT, 1);
  store<f64>(v, x, 8);
  return v;
}

/** A number from its JSON text (the bytes must stay alive: they are referenced, not copied). Returns 0 if not a number. */
export function makeNumberText(ptr: usize, len: usize): usize {
  return parseNumberText(ptr, len);
}

export function numberRepr(v: usize): u8 {
  return load<u8>(v, 1);
}

// ---- strings -----------------------------------------------------------

/** A string over existing UTF-8 bytes (not copied: they must outlive the value). */
export function makeStringRef(ptr: usize, len: usize): usize {
  const v = alloc(16);
  store<u8>(v, TYPE_STRING);
  store<u32>(v, <u32>len, 4);
  store<u32>(v, <u32>ptr, 8);
  return v;
}

/** A string with a copy of the given UTF-8 bytes. */
export function makeString(ptr: usize, len: usize): usize {
  const b = alloc(len);
  memory.copy(b, ptr, len);
  return makeStringRef(b, len);
}

/** A string from an ASCII/UTF-16 literal (e.g. a type name). */
export function makeStringLiteral(s: string): usize {
  const n = <usize>s.length;
  const b = alloc(n * 3);
  let o: usize = 0;
  const p = changetype<usize>(s);
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u16>(p + (i << 1));
    if (c < 0x80) {
      store<u8>(b + o++, <u8>c);
    } else if (c < 0x800) {
      store<u8>(b + o++, <u8>(0xc0 | (c >> 6)));
      store<u8>(b + o++, <u8>(0x80 | (c & 0x3f)));
    } else {
      store<u8>(b + o++, <u8>(0xe0 | (c >> 12)));
      store<u8>(b + o++, <u8>(0x80 | ((c >> 6) & 0x3f)));
      store<u8>(b + o++, <u8>(0x80 | (c & 0x3f)));
    }
  }
  return makeStringRef(b, o);
}

// @ts-ignore: decorator
@inline export function stringLen(v: usize): usize {
  return <usize>load<u32>(v, 4);
}

// @ts-ignore: decorator
@inline export function stringPtr(v: usize): usize {
  return <usize>load<u32>(v, 8);
}

// ---- arrays ------------------------------------------------------------

export function makeArray(cap: usize): usize {
  const v = alloc(16);
  if (cap < 4) cap = 4;
  store<u8>(v, TYPE_ARRAY);
  store<u32>(v, 0, 4);
  store<u32>(v, <u32>cap, 8);
  store<u32>(v, <u32>alloc(cap << 2), 12);
  return v;
}

// @ts-ignore: decorator
@inline export function arrayLen(a: usize): usize {
  return <usize>load<u32>(a, 4);
}

/** Element `i` (no bounds check: 0 <= i < arrayLen). */
// @ts-ignore: decorator
@inline export function arrayGet(a: usize, i: usize): usize {
  return <usize>load<u32>(<usize>load<u32>(a, 12) + (i << 2));
}

/** Replaces element `i` of an array the caller owns. */
export function arraySet(a: usize, i: usize, v: usize): void {
  store<u32>(<usize>load<u32>(a, 12) + (i << 2), <u32>v);
}

/** Appends to an array the caller owns. */
export function arrayAppend(a: usize, v: usize): void {
  growSlots(a);
  const n = arrayLen(a);
  store<u32>(<usize>load<u32>(a, 12) + (n << 2), <u32>v);
  store<u32>(a, <u32>(n + 1), 4);
}

/** Makes room for one more element in the slot array(s) of an array, object or set. */
function growSlots(c: usize): void {
  const n = <usize>load<u32>(c, 4);
  const cap = <usize>load<u32>(c, 8);
  if (n < cap) return;
  const ncap = cap * 2;
  store<u32>(c, <u32>grow(<usize>load<u32>(c, 12), cap << 2, ncap << 2), 12);
  if (load<u8>(c) == TYPE_OBJECT) {
    store<u32>(c, <u32>grow(<usize>load<u32>(c, 16), cap << 2, ncap << 2), 16);
  }
  store<u32>(c, <u32>ncap, 8);
}

// ---- objects -----------------------------------------------------------

export function makeObject(cap: usize = 4): usize {
  const v = alloc(24);
  if (cap < 4) cap = 4;
  store<u8>(v, TYPE_OBJECT);
  store<u32>(v, 0, 4);
  store<u32>(v, <u32>cap, 8);
  store<u32>(v, <u32>alloc(cap << 2), 12);
  store<u32>(v, <u32>alloc(cap << 2), 16);
  return v;
}

// @ts-ignore: decorator
@inline export function objectLen(o: usize): usize {
  return <usize>load<u32>(o, 4);
}

/** The i-th key in OPA order (0 <= i < objectLen). */
// @ts-ignore: decorator
@inline export function objectKeyAt(o: usize, i: usize): usize {
  return <usize>load<u32>(<usize>load<u32>(o, 12) + (i << 2));
}

/** The value of the i-th key. */
// @ts-ignore: decorator
@inline export function objectValueAt(o: usize, i: usize): usize {
  return <usize>load<u32>(<usize>load<u32>(o, 16) + (i << 2));
}

/** Binary search over sorted slots: index if found, else -(insertion point) - 1. */
export function searchSlots(slots: usize, n: usize, k: usize): i32 {
  let lo: i32 = 0;
  let hi: i32 = <i32>n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compare(<usize>load<u32>(slots + (<usize>mid << 2)), k);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

/** Index of key `k`, or -(insertion point) - 1. */
export function objectFind(o: usize, k: usize): i32 {
  return searchSlots(<usize>load<u32>(o, 12), objectLen(o), k);
}

/** The value under key `k`, or 0. */
export function objectGet(o: usize, k: usize): usize {
  const i = objectFind(o, k);
  return i < 0 ? 0 : objectValueAt(o, <usize>i);
}

/** Inserts or replaces `k` in an object the caller owns. */
export function objectInsert(o: usize, k: usize, v: usize): void {
  let i = objectFind(o, k);
  if (i >= 0) {
    store<u32>(<usize>load<u32>(o, 16) + (<usize>i << 2), <u32>v);
    return;
  }
  growSlots(o);
  const at = <usize>(-i - 1);
  const n = objectLen(o);
  const keys = <usize>load<u32>(o, 12);
  const vals = <usize>load<u32>(o, 16);
  if (at < n) {
    memory.copy(keys + ((at + 1) << 2), keys + (at << 2), (n - at) << 2);
    memory.copy(vals + ((at + 1) << 2), vals + (at << 2), (n - at) << 2);
  }
  store<u32>(keys + (at << 2), <u32>k);
  store<u32>(vals + (at << 2), <u32>v);
  store<u32>(o, <u32>(n + 1), 4);
}

// ---- sets --------------------------------------------------------------

export function makeSet(cap: usize = 4): usize {
  const v = alloc(16);
  if (cap < 4) cap = 4;
  store<u8>(v, TYPE_SET);
  store<u32>(v, 0, 4);
  store<u32>(v, <u32>cap, 8);
  store<u32>(v, <u32>alloc(cap << 2), 12);
  return v;
}

// @ts-ignore: decorator
@inline export function setLen(s: usize): usize {
  return <usize>load<u32>(s, 4);
}

/** The i-th element in OPA order. */
// @ts-ignore: decorator
@inline export function setAt(s: usize, i: usize): usize {
  return <usize>load<u32>(<usize>load<u32>(s, 12) + (i << 2));
}

/** The element equal to `v` held by the set, or 0. */
export function setGet(s: usize, v: usize): usize {
  const i = searchSlots(<usize>load<u32>(s, 12), setLen(s), v);
  return i < 0 ? 0 : setAt(s, <usize>i);
}

export function setContains(s: usize, v: usize): bool {
  return searchSlots(<usize>load<u32>(s, 12), setLen(s), v) >= 0;
}

/** Adds to a set the caller owns (no-op if present). */
export function setAdd(s: usize, v: usize): void {
  const i = searchSlots(<usize>load<u32>(s, 12), setLen(s), v);
  if (i >= 0) return;
  growSlots(s);
  const at = <usize>(-i - 1);
  const n = setLen(s);
  const slots = <usize>load<u32>(s, 12);
  if (at < n) memory.copy(slots + ((at + 1) << 2), slots + (at << 2), (n - at) << 2);
  store<u32>(slots + (at << 2), <u32>v);
  store<u32>(s, <u32>(n + 1), 4);
}

// ---- generic -----------------------------------------------------------

/** Length of a string (in code points), array, object or set; -1 otherwise. */
export function valueLength(v: usize): i32 {
  switch (load<u8>(v)) {
    case TYPE_STRING: return <i32>utf8CodePoints(stringPtr(v), stringLen(v));
    case TYPE_ARRAY:
    case TYPE_OBJECT:
    case TYPE_SET: return <i32>load<u32>(v, 4);
  }
  return -1;
}

/** Code points in UTF-8 bytes; each byte of an invalid sequence counts as one (as Go's runes). */
export function utf8CodePoints(p: usize, n: usize): usize {
  let count: usize = 0;
  let i: usize = 0;
  while (i < n) {
    const b = <u32>load<u8>(p + i);
    let len: usize = 1;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) len = 3;
    else if (b >= 0xf0 && b <= 0xf4) len = 4;
    if (len > 1) {
      if (i + len > n) len = 1;
      else {
        for (let k: usize = 1; k < len; k++) {
          if ((load<u8>(p + i + k) & 0xc0) != 0x80) { len = 1; break; }
        }
      }
    }
    i += len;
    count++;
  }
  return count;
}

/** Shallow copy of an array, object or set (so the copy can be modified). */
export function shallowCopy(v: usize): usize {
  const t = load<u8>(v);
  if (t == TYPE_ARRAY || t == TYPE_SET || t == TYPE_OBJECT) {
    const n = <usize>load<u32>(v, 4);
    const cap: usize = n < 4 ? 4 : n + 4;
    const c = t == TYPE_OBJECT ? makeObject(cap) : t == TYPE_SET ? makeSet(cap) : makeArray(cap);
    memory.copy(<usize>load<u32>(c, 12), <usize>load<u32>(v, 12), n << 2);
    if (t == TYPE_OBJECT) memory.copy(<usize>load<u32>(c, 16), <usize>load<u32>(v, 16), n << 2);
    store<u32>(c, <u32>n, 4);
    return c;
  }
  return v;
}

export { compare, equal } from './compare';
export { makeObjectFromPairs } from './object-pairs';
