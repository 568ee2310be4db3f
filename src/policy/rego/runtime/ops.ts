// Builtins at the core of the language (comparison, arithmetic, membership,
// set operators, count, object.get). Same convention as builtins/: exported
// `builtin_<name with . replaced by _>`, value pointers in, value pointer out,
// 0 for undefined; type errors abort like OPA's.

import {
  TYPE_NUMBER, TYPE_ARRAY, TYPE_OBJECT, TYPE_SET, makeBool, makeNumberI64, makeNumberF64,
  arrayLen, arrayGet, objectLen, objectValueAt, objectFind, objectGet, setLen, setAt, setContains,
  makeSet, setAdd, valueLength, compare, equal,
} from './value';
import {
  numAdd, numSub, numMul, numDiv, numRem, numIsZero, numberIsInteger, numberToF64, numNeg, compareNumbers, numberAsInteger,
} from './number';
import { typeError } from './errors';
import { builtinError } from './abort';
import { NUM_INT, NUM_FLOAT } from './value';
import { templateString } from './json';

export function builtin_equal(a: usize, b: usize): usize { return makeBool(equal(a, b)); }
export function builtin_neq(a: usize, b: usize): usize { return makeBool(!equal(a, b)); }
export function builtin_lt(a: usize, b: usize): usize { return makeBool(compare(a, b) < 0); }
export function builtin_gt(a: usize, b: usize): usize { return makeBool(compare(a, b) > 0); }
export function builtin_lte(a: usize, b: usize): usize { return makeBool(compare(a, b) <= 0); }
export function builtin_gte(a: usize, b: usize): usize { return makeBool(compare(a, b) >= 0); }

function needNumber(name: string, i: i32, v: usize): void {
  if (load<u8>(v) != TYPE_NUMBER) typeError(name, i, 'number', v);
}

export function builtin_plus(a: usize, b: usize): usize {
  needNumber('plus', 1, a);
  needNumber('plus', 2, b);
  return numAdd(a, b);
}

/** Numbers, or set difference. */
export function builtin_minus(a: usize, b: usize): usize {
  const ta = load<u8>(a);
  const tb = load<u8>(b);
  if (ta == TYPE_NUMBER && tb == TYPE_NUMBER) return numSub(a, b);
  if (ta == TYPE_SET && tb == TYPE_SET) {
    const r = makeSet();
    const n = setLen(a);
    for (let i: usize = 0; i < n; i++) if (!setContains(b, setAt(a, i))) setAdd(r, setAt(a, i));
    return r;
  }
  if (ta != TYPE_NUMBER && ta != TYPE_SET) typeError('minus', 1, 'any of {number, set}', a);
  if (ta == TYPE_NUMBER) typeError('minus', 2, 'number', b);
  typeError('minus', 2, 'set', b);
  return 0;
}

export function builtin_mul(a: usize, b: usize): usize {
  needNumber('mul', 1, a);
  needNumber('mul', 2, b);
  return numMul(a, b);
}

export function builtin_div(a: usize, b: usize): usize {
  needNumber('div', 1, a);
  needNumber('div', 2, b);
  if (numIsZero(b)) builtinError('eval_builtin_error', 'div', 'divide by zero');
  return numDiv(a, b);
}

export function builtin_rem(a: usize, b: usize): usize {
  needNumber('rem', 1, a);
  needNumber('rem', 2, b);
  if (!numberIsInteger(a) || !numberIsInteger(b)) builtinError('eval_builtin_error', 'rem', 'modulo on floating-point number');
  if (numIsZero(b)) builtinError('eval_builtin_error', 'rem', 'modulo by zero');
  return numRem(a, b);
}

export function builtin_abs(a: usize): usize {
  needNumber('abs', 1, a);
  if (load<u8>(a, 1) == NUM_INT) return load<i64>(a, 8) < 0 ? numNeg(a) : a;
  // numNeg keeps written numbers exact (abs(-1e400) is 1e400, not Infinity).
  // An integer written with an exponent comes back with its digits, as OPA's abs gives it (abs(1e400)).
  if (load<u8>(a, 1) != NUM_FLOAT) return compareNumbers(a, makeNumberI64(0)) < 0 ? numNeg(a) : numberAsInteger(a);
  const f = numberToF64(a);
  return f < 0 ? makeNumberF64(-f) : a;
}

export function builtin_round(a: usize): usize {
  needNumber('round', 1, a);
  if (load<u8>(a, 1) == NUM_INT) return a;
  const f = numberToF64(a);
  return makeNumberF64(f < 0 ? -Math.floor(-f + 0.5) : Math.floor(f + 0.5));
}

export function builtin_ceil(a: usize): usize {
  needNumber('ceil', 1, a);
  if (load<u8>(a, 1) == NUM_INT) return a;
  return makeNumberF64(Math.ceil(numberToF64(a)));
}

export function builtin_floor(a: usize): usize {
  needNumber('floor', 1, a);
  if (load<u8>(a, 1) == NUM_INT) return a;
  return makeNumberF64(Math.floor(numberToF64(a)));
}

export function builtin_count(a: usize): usize {
  const n = valueLength(a);
  if (n < 0) typeError('count', 1, 'any of {array, object, set, string}', a);
  return makeNumberI64(n);
}

/** `x in coll`: membership among the values of an array, object or set. */
export function builtin_internal_member_2(x: usize, coll: usize): usize {
  const t = load<u8>(coll);
  if (t == TYPE_SET) return makeBool(setContains(coll, x));
  if (t == TYPE_ARRAY) {
    const n = arrayLen(coll);
    for (let i: usize = 0; i < n; i++) if (equal(arrayGet(coll, i), x)) return makeBool(true);
  } else if (t == TYPE_OBJECT) {
    const n = objectLen(coll);
    for (let i: usize = 0; i < n; i++) if (equal(objectValueAt(coll, i), x)) return makeBool(true);
  }
  return makeBool(false);
}

/** `k, v in coll`: key/index `k` holds `v`. */
export function builtin_internal_member_3(k: usize, v: usize, coll: usize): usize {
  const t = load<u8>(coll);
  if (t == TYPE_OBJECT) {
    const i = objectFind(coll, k);
    return makeBool(i >= 0 && equal(objectValueAt(coll, <usize>i), v));
  }
  if (t == TYPE_ARRAY) {
    if (load<u8>(k) != TYPE_NUMBER || !numberIsInteger(k)) return makeBool(false);
    const f = numberToF64(k);
    if (f < 0 || f >= <f64>arrayLen(coll)) return makeBool(false);
    return makeBool(equal(arrayGet(coll, <usize>f), v));
  }
  if (t == TYPE_SET) return makeBool(equal(k, v) && setContains(coll, v));
  return makeBool(false);
}

/** object.get(obj, key, default); an array key is a path. */
export function builtin_object_get(obj: usize, key: usize, dflt: usize): usize {
  if (load<u8>(obj) != TYPE_OBJECT) typeError('object.get', 1, 'object', obj);
  if (load<u8>(key) != TYPE_ARRAY) {
    const v = objectGet(obj, key);
    return v != 0 ? v : dflt;
  }
  let cur = obj;
  const n = arrayLen(key);
  for (let i: usize = 0; i < n; i++) {
    const k = arrayGet(key, i);
    const t = load<u8>(cur);
    let next: usize = 0;
    if (t == TYPE_OBJECT) next = objectGet(cur, k);
    else if (t == TYPE_SET) next = setContains(cur, k) ? k : 0;
    else if (t == TYPE_ARRAY && load<u8>(k) == TYPE_NUMBER && numberIsInteger(k)) {
      const f = numberToF64(k);
      if (f >= 0 && f < <f64>arrayLen(cur)) next = arrayGet(cur, <usize>f);
    }
    if (next == 0) return dflt;
    cur = next;
  }
  return cur;
}

/** `a & b` on sets. */
export function builtin_and(a: usize, b: usize): usize {
  if (load<u8>(a) != TYPE_SET) typeError('and', 1, 'set', a);
  if (load<u8>(b) != TYPE_SET) typeError('and', 2, 'set', b);
  const r = makeSet();
  const n = setLen(a);
  for (let i: usize = 0; i < n; i++) if (setContains(b, setAt(a, i))) setAdd(r, setAt(a, i));
  return r;
}

/** `a | b` on sets. */
export function builtin_or(a: usize, b: usize): usize {
  if (load<u8>(a) != TYPE_SET) typeError('or', 1, 'set', a);
  if (load<u8>(b) != TYPE_SET) typeError('or', 2, 'set', b);
  const r = makeSet(setLen(a) + setLen(b));
  for (let i: usize = 0; i < setLen(a); i++) setAdd(r, setAt(a, i));
  for (let i: usize = 0; i < setLen(b); i++) setAdd(r, setAt(b, i));
  return r;
}


/** String interpolation (`$"…{x}…"`). */
export function builtin_internal_template_string(parts: usize): usize {
  return templateString(parts);
}
