// The operations the emitted policy code calls: one per IR statement that is
// more than a few instructions, plus the evaluation entry and exit.

import {
  TYPE_NUMBER, TYPE_ARRAY, TYPE_OBJECT, TYPE_SET, makeNumberI64, makeArray, makeObject,
  makeSet, makeStringRef, stringLen, stringPtr, arrayLen, arrayGet, arrayAppend, objectLen, objectKeyAt, objectValueAt, objectFind,
  objectGet, objectInsert, setLen, setAt, setGet, setAdd, valueLength, shallowCopy, equal,
} from './value';
import { numberIsI64, numberToI64 } from './number';
import { parseJson, dumpJson } from './json';
import { heapInit, heapSet, alloc, allocZero } from './memory';
import { evalError, msgBegin, msgStr, msgBytes, msgInt, msgAbort } from './abort';

let resultSet: usize = 0;

export function rt_init(staticEnd: usize): void {
  heapInit(staticEnd);
}

/** Starts an evaluation: resets the heap and parses the input (0 if none). */
export function rt_eval_begin(heapPtr: usize, input: usize, inputLen: usize): usize {
  heapSet(heapPtr);
  resultSet = makeSet();
  if (inputLen == 0) return 0;
  const v = parseJson(input, inputLen);
  if (v == 0) evalError('invalid_input', 'input is not valid JSON');
  return v;
}

// ---- ABI 1.1 evaluation context (for SDKs that do not use opa_eval) ----
// A context is four words: input, data, entrypoint, result set.

export function opa_eval_ctx_new(): usize { return allocZero(16); }
export function opa_eval_ctx_set_input(ctx: usize, v: usize): void { store<u32>(ctx, <u32>v); }
export function opa_eval_ctx_set_data(ctx: usize, v: usize): void { store<u32>(ctx, <u32>v, 4); }
export function opa_eval_ctx_set_entrypoint(ctx: usize, id: i32): void { store<i32>(ctx, id, 8); }
export function opa_eval_ctx_get_result(ctx: usize): usize { return <usize>load<u32>(ctx, 12); }

/** Starts an evaluation through a context (the heap and input are the caller's). */
export function rt_ctx_begin(): void {
  resultSet = makeSet();
}

/** Ends an evaluation through a context: stores the result set in it. */
export function rt_ctx_end(ctx: usize): void {
  store<u32>(ctx, <u32>resultSet, 12);
}

/** opa_eval with an entrypoint id the policy does not have. */
export function rt_invalid_entrypoint(id: i32): void {
  msgBegin();
  msgStr('invalid_entrypoint: no entrypoint with id ');
  msgInt(id);
  msgAbort();
}

/**
 * The evaluation used up its step budget (the emitted code counts scan
 * iterations and function calls); the host maps the code to a timeout.
 */
export function rt_budget_exceeded(limit: i32): void {
  msgBegin();
  msgStr('eval_budget_exceeded: the evaluation took more than ');
  msgInt(limit);
  msgStr(' steps (loop iterations and function calls); raise maxSteps or bound the iteration');
  msgAbort();
}

/** Ends an evaluation: the result set as NUL-terminated JSON. */
export function rt_eval_end(): usize {
  return dumpJson(resultSet);
}

/** Zeroed memory (the memo table of rule results). */
export function rt_alloc_zero(size: usize): usize {
  return allocZero(size);
}

export function rt_result_add(v: usize): void {
  setAdd(resultSet, v);
}

export function rt_make_array(cap: i32): usize { return makeArray(<usize>cap); }
export function rt_make_object(): usize { return makeObject(); }
export function rt_make_set(): usize { return makeSet(); }
export function rt_make_i64(x: i64): usize { return makeNumberI64(x); }
export function rt_array_append(a: usize, v: usize): void { arrayAppend(a, v); }
export function rt_object_insert(o: usize, k: usize, v: usize): void { objectInsert(o, k, v); }
export function rt_set_add(s: usize, v: usize): void { setAdd(s, v); }
export function rt_equal(a: usize, b: usize): i32 { return equal(a, b) ? 1 : 0; }

/** Aborts with a conflict error; `loc` is a string value naming the rule's file and row, or 0. */
function conflict(message: string, loc: usize): void {
  msgBegin();
  msgStr('eval_conflict_error: ');
  msgStr(message);
  if (loc != 0) {
    msgStr(' (');
    msgBytes(stringPtr(loc), stringLen(loc));
    msgStr(')');
  }
  msgAbort();
}

/** ObjectInsertOnceStmt: a key already bound to a different value is a conflict. */
export function rt_object_insert_once(o: usize, k: usize, v: usize, loc: usize): void {
  const i = objectFind(o, k);
  if (i >= 0) {
    if (!equal(objectValueAt(o, <usize>i), v)) conflict('object keys must be unique', loc);
    return;
  }
  objectInsert(o, k, v);
}

/** AssignVarOnceStmt conflict; `fn` tells function rules from complete rules. */
export function rt_conflict(fn: i32, loc: usize): void {
  if (fn != 0) conflict('functions must not produce multiple outputs for same inputs', loc);
  else conflict('complete rules must not produce multiple outputs', loc);
}

/** DotStmt: `src[key]`, or 0 when undefined. */
export function rt_dot(src: usize, key: usize): usize {
  if (src == 0 || key == 0) return 0;
  const t = load<u8>(src);
  if (t == TYPE_OBJECT) return objectGet(src, key);
  if (t == TYPE_SET) return setGet(src, key);
  if (t == TYPE_ARRAY) {
    if (load<u8>(key) != TYPE_NUMBER || !numberIsI64(key)) return 0;
    const i = numberToI64(key);
    if (i < 0 || i >= <i64>arrayLen(src)) return 0;
    return arrayGet(src, <usize>i);
  }
  return 0;
}

/**
 * DotStmt on a document under `data`: stored documents have string keys
 * only, so an integer key also finds its decimal string (`data.x[2]` reads
 * key "2"), as OPA's storage does.
 */
export function rt_dot_data(src: usize, key: usize): usize {
  const r = rt_dot(src, key);
  if (r != 0 || src == 0 || load<u8>(src) != TYPE_OBJECT || load<u8>(key) != TYPE_NUMBER || !numberIsI64(key)) return r;
  let x = numberToI64(key);
  const buf = alloc(24);
  let n: usize = 0;
  const neg = x < 0;
  if (neg) x = -x;
  do { store<u8>(buf + 23 - n, <u8>(0x30 + <i32>(x % 10))); x /= 10; n++; } while (x != 0);
  if (neg) { store<u8>(buf + 23 - n, 0x2d); n++; }
  return objectGet(src, makeStringRef(buf + 24 - n, n));
}

/** CallDynamicStmt: the function table index a mapping leaf holds, or -1. */
export function rt_mapping_index(leaf: usize): i32 {
  if (leaf == 0 || load<u8>(leaf) != TYPE_NUMBER || !numberIsI64(leaf)) return -1;
  return <i32>numberToI64(leaf);
}

/** LenStmt: the length as a number, or 0 for values without one. */
export function rt_len(v: usize): usize {
  const n = valueLength(v);
  return n < 0 ? 0 : makeNumberI64(n);
}

/** ScanStmt: number of iterations over `v` (0 for scalars). */
export function rt_scan_len(v: usize): i32 {
  if (v == 0) return 0;
  const t = load<u8>(v);
  return t >= TYPE_ARRAY ? <i32>load<u32>(v, 4) : 0;
}

export function rt_scan_key(v: usize, i: i32): usize {
  const t = load<u8>(v);
  if (t == TYPE_ARRAY) return makeNumberI64(i);
  if (t == TYPE_OBJECT) return objectKeyAt(v, <usize>i);
  return setAt(v, <usize>i);
}

export function rt_scan_value(v: usize, i: i32): usize {
  const t = load<u8>(v);
  if (t == TYPE_ARRAY) return arrayGet(v, <usize>i);
  if (t == TYPE_OBJECT) return objectValueAt(v, <usize>i);
  return setAt(v, <usize>i);
}

/**
 * WithStmt: a copy of `root` with `value` at the path given by `n` string
 * value pointers at `path` (u32 each). Missing or non-object intermediate
 * nodes become objects. The original is left untouched.
 */
export function rt_upsert(root: usize, path: usize, n: i32, value: usize): usize {
  if (n == 0) return value;
  const key = <usize>load<u32>(path);
  const obj = root != 0 && load<u8>(root) == TYPE_OBJECT ? shallowCopy(root) : makeObject();
  const child = root != 0 && load<u8>(root) == TYPE_OBJECT ? objectGet(root, key) : 0;
  objectInsert(obj, key, rt_upsert(child, path + 4, n - 1, value));
  return obj;
}

/** ObjectMergeStmt: a recursive merge where `a` wins on conflicting leaves. */
export function rt_object_merge(a: usize, b: usize): usize {
  if (a == 0) return b;
  if (b == 0) return a;
  if (load<u8>(a) != TYPE_OBJECT || load<u8>(b) != TYPE_OBJECT) return a;
  const r = shallowCopy(a);
  const n = objectLen(b);
  for (let i: usize = 0; i < n; i++) {
    const k = objectKeyAt(b, i);
    const bv = objectValueAt(b, i);
    const av = objectGet(a, k);
    if (av == 0) objectInsert(r, k, bv);
    else objectInsert(r, k, rt_object_merge(av, bv));
  }
  return r;
}

