// json.patch: RFC 6902 operations (add, remove, replace, move, copy, test)
// on any Rego document, as OPA applies them: paths are "/"-separated
// pointers or arrays of segments, sets are addressed by their elements, and
// a patch that cannot apply makes the result undefined (not an error).
// Documents are immutable: every change copies the containers on its path.

import {
  TYPE_STRING, TYPE_NUMBER, TYPE_ARRAY, TYPE_OBJECT, TYPE_SET, NUM_INT, makeArray, arrayAppend, arrayLen,
  arrayGet, makeObject, objectLen, objectKeyAt, objectValueAt, objectGet, objectInsert, makeSet, setAdd,
  setLen, setAt, setContains, stringLen, stringPtr, makeStringLiteral, equal,
} from '../value';
import { typeError } from '../errors';
import { failType, bytesEqualLit } from './util';
import { pathSegments } from './jsonpaths';

const ADD: i32 = 0;
const REMOVE: i32 = 1;
const REPLACE: i32 = 2;

/** An array index from a segment ("2", 2, or "-" for the end when `dashOk`); -1 if none. */
function indexOf(seg: usize, len: usize, dashOk: bool): i64 {
  const t = load<u8>(seg);
  if (t == TYPE_NUMBER) return load<u8>(seg, 1) == NUM_INT ? load<i64>(seg, 8) : -1;
  if (t != TYPE_STRING) return -1;
  const p = stringPtr(seg);
  const n = stringLen(seg);
  if (dashOk && n == 1 && load<u8>(p) == 0x2d) return <i64>len;
  if (n == 0 || n > 18 || (n > 1 && load<u8>(p) == 0x30)) return -1;
  let v: i64 = 0;
  for (let i: usize = 0; i < n; i++) {
    const d = <u32>load<u8>(p + i) - 0x30;
    if (d >= 10) return -1;
    v = v * 10 + <i64>d;
  }
  return v;
}

function child(doc: usize, seg: usize): usize {
  const t = load<u8>(doc);
  if (t == TYPE_OBJECT) return objectGet(doc, seg);
  if (t == TYPE_ARRAY) {
    const i = indexOf(seg, arrayLen(doc), false);
    return i >= 0 && i < <i64>arrayLen(doc) ? arrayGet(doc, <usize>i) : 0;
  }
  if (t == TYPE_SET) return setContains(doc, seg) ? seg : 0;
  return 0;
}

/** `doc` with the child at `seg` replaced by `v` (the child exists). */
function withChild(doc: usize, seg: usize, v: usize): usize {
  const t = load<u8>(doc);
  if (t == TYPE_OBJECT) {
    const r = copyObject(doc, 0);
    objectInsert(r, seg, v);
    return r;
  }
  if (t == TYPE_ARRAY) {
    const at = <usize>indexOf(seg, arrayLen(doc), false);
    const r = makeArray(arrayLen(doc));
    for (let i: usize = 0; i < arrayLen(doc); i++) arrayAppend(r, i == at ? v : arrayGet(doc, i));
    return r;
  }
  const r = copySet(doc, seg);
  setAdd(r, v);
  return r;
}

function copyObject(o: usize, without: usize): usize {
  const r = makeObject(objectLen(o));
  for (let i: usize = 0; i < objectLen(o); i++) {
    const k = objectKeyAt(o, i);
    if (without == 0 || !equal(k, without)) objectInsert(r, k, objectValueAt(o, i));
  }
  return r;
}

function copySet(s: usize, without: usize): usize {
  const r = makeSet(setLen(s));
  for (let i: usize = 0; i < setLen(s); i++) if (without == 0 || !equal(setAt(s, i), without)) setAdd(r, setAt(s, i));
  return r;
}

/** Applies ADD/REMOVE/REPLACE at segment `i` of `segs` below `doc`; 0 when it cannot. */
function apply(doc: usize, segs: usize, i: usize, op: i32, value: usize): usize {
  const n = arrayLen(segs);
  const seg = arrayGet(segs, i);
  if (i + 1 < n) {
    const c = child(doc, seg);
    if (c == 0) return 0;
    const nc = apply(c, segs, i + 1, op, value);
    return nc == 0 ? 0 : withChild(doc, seg, nc);
  }
  const t = load<u8>(doc);
  if (t == TYPE_OBJECT) {
    const exists = objectGet(doc, seg) != 0;
    if (op != ADD && !exists) return 0;
    const r = copyObject(doc, op == REMOVE ? seg : 0);
    if (op != REMOVE) objectInsert(r, seg, value);
    return r;
  }
  if (t == TYPE_ARRAY) {
    const len = arrayLen(doc);
    const at = indexOf(seg, len, op == ADD);
    if (at < 0 || at > <i64>len || (op != ADD && at == <i64>len)) return 0;
    const r = makeArray(len + 1);
    for (let k: usize = 0; k <= len; k++) {
      if (<i64>k == at) {
        if (op != REMOVE) arrayAppend(r, value);
        if (op == ADD && k < len) arrayAppend(r, arrayGet(doc, k));
      } else if (k < len) arrayAppend(r, arrayGet(doc, k));
    }
    return r;
  }
  if (t == TYPE_SET) {
    if (op == ADD) {
      if (!equal(seg, value)) return 0;
      const r = copySet(doc, 0);
      setAdd(r, value);
      return r;
    }
    if (!setContains(doc, seg)) return 0;
    const r = copySet(doc, seg);
    if (op == REPLACE) setAdd(r, value);
    return r;
  }
  return 0;
}

function get(doc: usize, segs: usize): usize {
  let cur = doc;
  for (let i: usize = 0; i < arrayLen(segs) && cur != 0; i++) cur = child(cur, arrayGet(segs, i));
  return cur;
}

function change(doc: usize, segs: usize, op: i32, value: usize): usize {
  if (arrayLen(segs) == 0) return op == REMOVE ? 0 : value;
  return apply(doc, segs, 0, op, value);
}

function attribute(op: usize, name: string): usize {
  return objectGet(op, makeStringLiteral(name));
}

export function builtin_json_patch(doc: usize, ops: usize): usize {
  if (load<u8>(ops) != TYPE_ARRAY) typeError('json.patch', 2, 'array', ops);
  let cur = doc;
  for (let i: usize = 0; i < arrayLen(ops); i++) {
    const o = arrayGet(ops, i);
    if (load<u8>(o) != TYPE_OBJECT) {
      failType('json.patch', 'operand 2 must be an array of JSON-Patch objects, but at least one element is not an object');
    }
    // A malformed operation (no op, no path, unknown op) is a patch that
    // does not apply: undefined, as for the JSON-Patch test suite in OPA.
    const opv = attribute(o, 'op');
    const path = attribute(o, 'path');
    if (opv == 0 || path == 0 || load<u8>(opv) != TYPE_STRING) return 0;
    const pt = load<u8>(path);
    if (pt != TYPE_STRING && pt != TYPE_ARRAY) return 0;
    const segs = pathSegments('json.patch', path);
    const p = stringPtr(opv);
    const n = stringLen(opv);
    const value = attribute(o, 'value');
    if (bytesEqualLit(p, n, 'add')) cur = value == 0 ? 0 : change(cur, segs, ADD, value);
    else if (bytesEqualLit(p, n, 'remove')) cur = change(cur, segs, REMOVE, 0);
    else if (bytesEqualLit(p, n, 'replace')) cur = value == 0 || get(cur, segs) == 0 ? 0 : change(cur, segs, REPLACE, value);
    else if (bytesEqualLit(p, n, 'move') || bytesEqualLit(p, n, 'copy')) {
      const fromv = attribute(o, 'from');
      if (fromv == 0 || (load<u8>(fromv) != TYPE_STRING && load<u8>(fromv) != TYPE_ARRAY)) return 0;
      const from = pathSegments('json.patch', fromv);
      const v = get(cur, from);
      if (v == 0) return 0;
      if (bytesEqualLit(p, n, 'move')) cur = change(cur, from, REMOVE, 0);
      if (cur != 0) cur = change(cur, segs, ADD, v);
    } else if (bytesEqualLit(p, n, 'test')) {
      const v = get(cur, segs);
      if (v == 0 || value == 0 || !equal(v, value)) return 0;
    } else return 0;
    if (cur == 0) return 0;
  }
  return cur;
}
