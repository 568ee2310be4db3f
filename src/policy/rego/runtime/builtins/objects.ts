// Object builtins: object.keys, object.remove, object.filter, object.union,
// object.union_n, object.subset. (object.get is a core builtin, in ../ops.ts.)

import {
  TYPE_ARRAY, TYPE_OBJECT, TYPE_SET, makeObject, makeSet, setAdd, setContains, objectLen, objectKeyAt,
  objectValueAt, objectInsert, objectFind, arrayLen, arrayGet, shallowCopy, setLen, setAt, makeBool, equal,
} from '../value';
import { typeError } from '../errors';
import { needObject, needArray } from './util';

export function builtin_object_keys(o: usize): usize {
  needObject('object.keys', 1, o);
  const n = objectLen(o);
  const r = makeSet(n);
  // Keys are already sorted: append in order.
  for (let i: usize = 0; i < n; i++) setAdd(r, objectKeyAt(o, i));
  return r;
}

/** The keys named by an array, a set, or an object's keys, as a set. */
function keySet(name: string, keys: usize): usize {
  const t = load<u8>(keys);
  if (t == TYPE_SET) return keys;
  const r = makeSet();
  if (t == TYPE_ARRAY) {
    const n = arrayLen(keys);
    for (let i: usize = 0; i < n; i++) setAdd(r, arrayGet(keys, i));
  } else if (t == TYPE_OBJECT) {
    const n = objectLen(keys);
    for (let i: usize = 0; i < n; i++) setAdd(r, objectKeyAt(keys, i));
  } else {
    typeError(name, 2, 'one of {object, set, array}', keys);
  }
  return r;
}

function keep(name: string, o: usize, keys: usize, inSet: bool): usize {
  needObject(name, 1, o);
  const ks = keySet(name, keys);
  const n = objectLen(o);
  const r = makeObject(n);
  for (let i: usize = 0; i < n; i++) {
    const k = objectKeyAt(o, i);
    if (setContains(ks, k) == inSet) objectInsert(r, k, objectValueAt(o, i));
  }
  return r;
}

export function builtin_object_remove(o: usize, keys: usize): usize {
  return keep('object.remove', o, keys, false);
}

export function builtin_object_filter(o: usize, keys: usize): usize {
  return keep('object.filter', o, keys, true);
}

/** b's keys win, except that two objects under the same key are merged. */
function merge(a: usize, b: usize): usize {
  const r = shallowCopy(a);
  const n = objectLen(b);
  for (let i: usize = 0; i < n; i++) {
    const k = objectKeyAt(b, i);
    const bv = objectValueAt(b, i);
    const at = objectFind(a, k);
    if (at >= 0) {
      const av = objectValueAt(a, <usize>at);
      if (load<u8>(av) == TYPE_OBJECT && load<u8>(bv) == TYPE_OBJECT) {
        objectInsert(r, k, merge(av, bv));
        continue;
      }
    }
    objectInsert(r, k, bv);
  }
  return r;
}

export function builtin_object_union(a: usize, b: usize): usize {
  needObject('object.union', 1, a);
  needObject('object.union', 2, b);
  return merge(a, b);
}

export function builtin_object_union_n(arr: usize): usize {
  needArray('object.union_n', 1, arr);
  const n = arrayLen(arr);
  let r = makeObject();
  for (let i: usize = 0; i < n; i++) {
    const o = arrayGet(arr, i);
    if (load<u8>(o) != TYPE_OBJECT) typeError('object.union_n', 1, 'array of objects', arr);
    r = merge(r, o);
  }
  return r;
}


/** `sub` appears contiguously, in order, in `sup`. */
function arrayContains(sup: usize, sub: usize): bool {
  const n = arrayLen(sup);
  const m = arrayLen(sub);
  if (m == 0) return true;
  for (let i: usize = 0; i + m <= n; i++) {
    let all = true;
    for (let k: usize = 0; k < m && all; k++) all = equal(arrayGet(sup, i + k), arrayGet(sub, k));
    if (all) return true;
  }
  return false;
}

/** OPA's subset relation; objects recurse into their values, the others do not. */
function subset(sup: usize, sub: usize): bool {
  const ts = load<u8>(sup);
  const tb = load<u8>(sub);
  if (ts == TYPE_OBJECT && tb == TYPE_OBJECT) {
    for (let i: usize = 0; i < objectLen(sub); i++) {
      const at = objectFind(sup, objectKeyAt(sub, i));
      if (at < 0 || !subset(objectValueAt(sup, <usize>at), objectValueAt(sub, i))) return false;
    }
    return true;
  }
  if (ts == TYPE_SET && tb == TYPE_SET) {
    for (let i: usize = 0; i < setLen(sub); i++) if (!setContains(sup, setAt(sub, i))) return false;
    return true;
  }
  if (ts == TYPE_ARRAY && tb == TYPE_ARRAY) return arrayContains(sup, sub);
  if (ts == TYPE_ARRAY && tb == TYPE_SET) {
    for (let i: usize = 0; i < setLen(sub); i++) {
      let found = false;
      for (let k: usize = 0; k < arrayLen(sup) && !found; k++) found = equal(arrayGet(sup, k), setAt(sub, i));
      if (!found) return false;
    }
    return true;
  }
  return equal(sup, sub);
}

export function builtin_object_subset(sup: usize, sub: usize): usize {
  const ts = load<u8>(sup);
  const tb = load<u8>(sub);
  if (ts != TYPE_OBJECT && ts != TYPE_SET && ts != TYPE_ARRAY) typeError('object.subset', 1, 'one of {object, set, array}', sup);
  if (tb != TYPE_OBJECT && tb != TYPE_SET && tb != TYPE_ARRAY) typeError('object.subset', 2, 'one of {object, set, array}', sub);
  const same = ts == tb || (ts == TYPE_ARRAY && tb == TYPE_SET);
  if (!same) typeError('object.subset', 2, ts == TYPE_ARRAY ? 'one of {array, set}' : ts == TYPE_OBJECT ? 'object' : 'set', sub);
  return makeBool(subset(sup, sub));
}
