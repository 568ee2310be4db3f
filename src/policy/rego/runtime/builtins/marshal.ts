// json.marshal, json.marshal_with_options, json.unmarshal. Output matches
// Go's encoding/json as OPA uses it: compact, object keys sorted, sets as
// arrays, and `<`, `>`, `&`, U+2028, U+2029 escaped.

import {
  TYPE_STRING, TYPE_BOOLEAN, makeBool, makeStringRef, stringLen, stringPtr, objectLen, objectKeyAt, objectValueAt, boolValue,
} from '../value';
import { parseJson, dumpJson } from '../json';
import { typeError } from '../errors';
import { msgBegin, msgStr, msgBytes, msgAbort } from '../abort';
import { needString, needObject, bufNew, bufByte, bufBytes, bufLit, bufStr, bufToString, fail, bytesEqualLit } from './util';

/** The compact JSON text of `v`, Go-escaped, as [ptr, len] in a buffer. */
function marshal(v: usize): usize {
  const p = dumpJson(v);
  let n: usize = 0;
  while (load<u8>(p + n) != 0) n++;
  const b = bufNew(n);
  let run = p;
  const end = p + n;
  for (let q = p; q < end; q++) {
    const c = <u32>load<u8>(q);
    let esc: u32 = 0;
    let skip: usize = 1;
    if (c == 0x3c || c == 0x3e || c == 0x26) esc = c;
    else if (c == 0xe2 && q + 2 < end && load<u8>(q + 1) == 0x80 && (load<u8>(q + 2) == 0xa8 || load<u8>(q + 2) == 0xa9)) {
      esc = load<u8>(q + 2) == 0xa8 ? 0x2028 : 0x2029;
      skip = 3;
    }
    if (esc == 0) continue;
    bufBytes(b, run, q - run);
    bufLit(b, '\\u');
    const hex = '0123456789abcdef';
    for (let k: i32 = 12; k >= 0; k -= 4) bufByte(b, <u32>load<u16>(changetype<usize>(hex) + (<usize>((esc >> <u32>k) & 15) << 1)));
    run = q + skip;
    q += skip - 1;
  }
  bufBytes(b, run, end - run);
  return b;
}

export function builtin_json_marshal(v: usize): usize {
  return bufToString(marshal(v));
}

/**
 * Pretty-prints compact JSON as Go's json.MarshalIndent does, with `prefix`
 * also before the first line (as OPA writes it).
 */
function indent(compact: usize, prefix: usize, ind: usize): usize {
  const p = load<u32>(compact);
  const n = <usize>load<u32>(compact, 4);
  const b = bufNew(n * 2);
  bufStr(b, prefix);
  let depth = 0;
  let inString = false;
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(<usize>p + i);
    if (inString) {
      bufByte(b, c);
      if (c == 0x5c) { i++; bufByte(b, load<u8>(<usize>p + i)); } else if (c == 0x22) inString = false;
      continue;
    }
    if (c == 0x22) { inString = true; bufByte(b, c); continue; }
    if (c == 0x7b || c == 0x5b) {
      bufByte(b, c);
      const next = <u32>load<u8>(<usize>p + i + 1);
      if (next == 0x7d || next == 0x5d) { bufByte(b, next); i++; continue; }
      depth++;
      newline(b, prefix, ind, depth);
      continue;
    }
    if (c == 0x7d || c == 0x5d) {
      depth--;
      newline(b, prefix, ind, depth);
      bufByte(b, c);
      continue;
    }
    if (c == 0x2c) { bufByte(b, c); newline(b, prefix, ind, depth); continue; }
    if (c == 0x3a) { bufByte(b, c); bufByte(b, 0x20); continue; }
    bufByte(b, c);
  }
  return bufToString(b);
}

function newline(b: usize, prefix: usize, ind: usize, depth: i32): void {
  bufByte(b, 0x0a);
  bufStr(b, prefix);
  for (let k = 0; k < depth; k++) bufStr(b, ind);
}

const TAB = memory.data<u8>([0x09]);

export function builtin_json_marshal_with_options(v: usize, opts: usize): usize {
  needObject('json.marshal_with_options', 2, opts);
  let pretty: i32 = -1;
  let prefix: usize = 0;
  let ind: usize = 0;
  const n = objectLen(opts);
  for (let i: usize = 0; i < n; i++) {
    const k = objectKeyAt(opts, i);
    const x = objectValueAt(opts, i);
    const kp = stringPtr(k);
    const kn = load<u8>(k) == TYPE_STRING ? stringLen(k) : 0;
    if (load<u8>(k) == TYPE_STRING && bytesEqualLit(kp, kn, 'pretty')) {
      if (load<u8>(x) != TYPE_BOOLEAN) typeError('json.marshal_with_options', 2, 'boolean for "pretty"', x);
      pretty = boolValue(x) ? 1 : 0;
    } else if (load<u8>(k) == TYPE_STRING && bytesEqualLit(kp, kn, 'prefix')) {
      needString('json.marshal_with_options', 2, x);
      prefix = x;
    } else if (load<u8>(k) == TYPE_STRING && bytesEqualLit(kp, kn, 'indent')) {
      needString('json.marshal_with_options', 2, x);
      ind = x;
    } else {
      msgBegin();
      msgStr('eval_type_error: json.marshal_with_options: object contained unknown key ');
      if (load<u8>(k) == TYPE_STRING) { msgStr('"'); msgBytes(kp, kn); msgStr('"'); }
      msgAbort();
    }
  }
  const compact = marshal(v);
  if (pretty == 0 || (pretty == -1 && prefix == 0 && ind == 0)) return bufToString(compact);
  const empty = makeStringRef(TAB, 0);
  return indent(compact, prefix != 0 ? prefix : empty, ind != 0 ? ind : makeStringRef(TAB, 1));
}

export function builtin_json_unmarshal(s: usize): usize {
  needString('json.unmarshal', 1, s);
  const v = parseJson(stringPtr(s), stringLen(s));
  if (v == 0) fail('json.unmarshal', 'invalid JSON');
  return v;
}

/** Any value is accepted: a non-string is simply not valid JSON text. */
export function builtin_json_is_valid(s: usize): usize {
  if (load<u8>(s) != TYPE_STRING) return makeBool(false);
  return makeBool(parseJson(stringPtr(s), stringLen(s)) != 0);
}
