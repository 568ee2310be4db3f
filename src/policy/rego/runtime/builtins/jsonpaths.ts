// json.filter and json.remove: keep or drop the parts of a document named by
// paths, each a "/"-separated JSON pointer ("a/0/b", with ~0 and ~1
// escapes) or an array of path segments. As in OPA, the paths become a tree
// of objects whose leaves are null; array elements are addressed by their
// index written as a string.

import {
  TYPE_NULL, TYPE_STRING, TYPE_ARRAY, TYPE_OBJECT, TYPE_SET, makeNull, makeObject, makeArray, makeSet,
  arrayAppend, arrayLen, arrayGet, objectLen, objectKeyAt, objectValueAt, objectGet, objectInsert, setAdd,
  setLen, setAt, stringLen, stringPtr, TYPE_NUMBER, NUM_INT,
} from '../value';
import { typeError, typeName } from '../errors';
import { msgBegin, msgStr, msgAbort } from '../abort';
import { needObject, bufNew, bufByte, bufU64, bufToString } from './util';

/** One path's segments (a "/"-separated pointer or an array of segments), as an array value. */
export function pathSegments(name: string, p: usize): usize {
  const t = load<u8>(p);
  if (t == TYPE_ARRAY) return p;
  if (t != TYPE_STRING) {
    msgBegin();
    msgStr('eval_type_error: ');
    msgStr(name);
    msgStr(': operand 2 must be one of {set, array} containing string paths or array of path segments but got ');
    msgStr(typeName(p));
    msgAbort();
  }
  const r = makeArray(4);
  let s = stringPtr(p);
  let n = stringLen(p);
  if (n == 0) return r;
  while (n > 0 && load<u8>(s) == 0x2f) { s++; n--; }
  let start: usize = 0;
  for (let i: usize = 0; i <= n; i++) {
    if (i < n && load<u8>(s + i) != 0x2f) continue;
    // ~1 is "/", ~0 is "~" (in that order, as OPA replaces them).
    const b = bufNew(i - start);
    for (let k = start; k < i; k++) {
      const c = <u32>load<u8>(s + k);
      if (c == 0x7e && k + 1 < i && (load<u8>(s + k + 1) == 0x31 || load<u8>(s + k + 1) == 0x30)) {
        bufByte(b, load<u8>(s + k + 1) == 0x31 ? 0x2f : 0x7e);
        k++;
      } else bufByte(b, c);
    }
    arrayAppend(r, bufToString(b));
    start = i + 1;
  }
  return r;
}

/** The tree of paths: objects keyed by segment, null at the end of a path. */
function pathTree(name: string, paths: usize): usize {
  const t = load<u8>(paths);
  if (t != TYPE_ARRAY && t != TYPE_SET) typeError(name, 2, 'one of {set, array}', paths);
  const n = t == TYPE_ARRAY ? arrayLen(paths) : setLen(paths);
  const root = makeObject();
  for (let i: usize = 0; i < n; i++) {
    const segs = pathSegments(name, t == TYPE_ARRAY ? arrayGet(paths, i) : setAt(paths, i));
    const m = arrayLen(segs);
    if (m == 0) continue;
    let node = root;
    let done = false;
    for (let k: usize = 0; k + 1 < m && !done; k++) {
      const child = objectGet(node, arrayGet(segs, k));
      if (child == 0) {
        const o = makeObject();
        objectInsert(node, arrayGet(segs, k), o);
        node = o;
      } else if (load<u8>(child) == TYPE_NULL) done = true;
      else node = child;
    }
    if (!done) objectInsert(node, arrayGet(segs, m - 1), makeNull());
  }
  return root;
}

/** The tree node for array index i ("i" as a string, or the number i). */
function indexChild(tree: usize, i: usize): usize {
  const b = bufNew(8);
  bufU64(b, <u64>i);
  const s = bufToString(b);
  const c = objectGet(tree, s);
  if (c != 0) return c;
  for (let k: usize = 0; k < objectLen(tree); k++) {
    const key = objectKeyAt(tree, k);
    if (load<u8>(key) == TYPE_NUMBER && isIndex(key, i)) return objectValueAt(tree, k);
  }
  return 0;
}

function isIndex(num: usize, i: usize): bool {
  return load<u8>(num, 1) == NUM_INT && load<i64>(num, 8) == <i64>i;
}

function filter(v: usize, tree: usize): usize {
  if (load<u8>(tree) == TYPE_NULL) return v;
  const t = load<u8>(v);
  if (t == TYPE_OBJECT) {
    const r = makeObject();
    for (let i: usize = 0; i < objectLen(tree); i++) {
      const k = objectKeyAt(tree, i);
      const x = objectGet(v, k);
      if (x != 0) objectInsert(r, k, filter(x, objectValueAt(tree, i)));
    }
    return r;
  }
  if (t == TYPE_ARRAY) {
    const r = makeArray(arrayLen(v));
    for (let i: usize = 0; i < arrayLen(v); i++) {
      const sub = indexChild(tree, i);
      if (sub != 0) arrayAppend(r, filter(arrayGet(v, i), sub));
    }
    return r;
  }
  if (t == TYPE_SET) {
    const r = makeSet();
    for (let i: usize = 0; i < setLen(v); i++) {
      const sub = objectGet(tree, setAt(v, i));
      if (sub != 0) setAdd(r, filter(setAt(v, i), sub));
    }
    return r;
  }
  return v;
}

/** The value with the tree's paths removed; 0 when removed entirely. */
function remove(v: usize, tree: usize): usize {
  if (tree == 0) return v;
  if (load<u8>(tree) != TYPE_OBJECT) return 0;
  const t = load<u8>(v);
  if (t == TYPE_OBJECT) {
    const r = makeObject(objectLen(v));
    for (let i: usize = 0; i < objectLen(v); i++) {
      const k = objectKeyAt(v, i);
      const x = remove(objectValueAt(v, i), objectGet(tree, k));
      if (x != 0) objectInsert(r, k, x);
    }
    return r;
  }
  if (t == TYPE_ARRAY) {
    const r = makeArray(arrayLen(v));
    for (let i: usize = 0; i < arrayLen(v); i++) {
      const x = remove(arrayGet(v, i), indexChild(tree, i));
      if (x != 0) arrayAppend(r, x);
    }
    return r;
  }
  if (t == TYPE_SET) {
    const r = makeSet();
    for (let i: usize = 0; i < setLen(v); i++) {
      const x = remove(setAt(v, i), objectGet(tree, setAt(v, i)));
      if (x != 0) setAdd(r, x);
    }
    return r;
  }
  return v;
}

export function builtin_json_filter(o: usize, paths: usize): usize {
  needObject('json.filter', 1, o);
  return filter(o, pathTree('json.filter', paths));
}

export function builtin_json_remove(o: usize, paths: usize): usize {
  needObject('json.remove', 1, o);
  const r = remove(o, pathTree('json.remove', paths));
  return r == 0 ? makeObject() : r;
}

