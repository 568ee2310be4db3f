// Encodings: base64 (standard and URL alphabets), hex, URL query escaping.
// Decoders follow Go's encoding packages, whose behaviour OPA exposes.

import {
  TYPE_STRING, TYPE_ARRAY, TYPE_SET, makeBool, makeObject, objectInsert, objectGet,
  makeArray, arrayAppend, arrayLen, arrayGet, setLen, setAt, objectLen, objectKeyAt, objectValueAt,
  stringLen, stringPtr,
} from '../value';
import { typeError } from '../errors';
import { msgBegin, msgStr, msgBytes, msgByte, msgAbort } from '../abort';
import { needString, needObject, bufNew, bufByte, bufLen, bufToString, fail } from './util';

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HEXD = '0123456789abcdef';

// @ts-ignore: decorator
@inline function litAt(s: string, i: u32): u32 {
  return <u32>load<u16>(changetype<usize>(s) + (<usize>i << 1));
}

function b64encode(s: usize, url: bool, pad: bool): usize {
  const p = stringPtr(s);
  const n = stringLen(s);
  const alpha = url ? URL : STD;
  const b = bufNew((n + 2) / 3 * 4);
  let i: usize = 0;
  while (i + 3 <= n) {
    const v = (<u32>load<u8>(p + i) << 16) | (<u32>load<u8>(p + i + 1) << 8) | <u32>load<u8>(p + i + 2);
    bufByte(b, litAt(alpha, v >> 18));
    bufByte(b, litAt(alpha, (v >> 12) & 63));
    bufByte(b, litAt(alpha, (v >> 6) & 63));
    bufByte(b, litAt(alpha, v & 63));
    i += 3;
  }
  const rest = n - i;
  if (rest > 0) {
    let v = <u32>load<u8>(p + i) << 16;
    if (rest == 2) v |= <u32>load<u8>(p + i + 1) << 8;
    bufByte(b, litAt(alpha, v >> 18));
    bufByte(b, litAt(alpha, (v >> 12) & 63));
    if (rest == 2) bufByte(b, litAt(alpha, (v >> 6) & 63));
    if (pad) {
      if (rest == 1) bufByte(b, 0x3d);
      bufByte(b, 0x3d);
    }
  }
  return bufToString(b);
}

function b64digit(c: u32, url: bool): i32 {
  if (c >= 0x41 && c <= 0x5a) return <i32>(c - 0x41);
  if (c >= 0x61 && c <= 0x7a) return <i32>(c - 0x61 + 26);
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30 + 52);
  if (url) {
    if (c == 0x2d) return 62;
    if (c == 0x5f) return 63;
  } else {
    if (c == 0x2b) return 62;
    if (c == 0x2f) return 63;
  }
  return -1;
}

export let decodeErrorAt: isize = -1;

/**
 * Go's base64 decoding with padding required (or refused when `raw`);
 * '\r' and '\n' are ignored. Returns a buffer, or 0 with decodeErrorAt set.
 */
export function b64decode(p: usize, n: usize, url: bool, raw: bool): usize {
  const b = bufNew(n / 4 * 3 + 3);
  let acc: u32 = 0;
  let j: u32 = 0;
  let i: usize = 0;
  decodeErrorAt = -1;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x0a || c == 0x0d) { i++; continue; }
    if (c == 0x3d && !raw) {
      // Padding: only after 2 or 3 symbols of a quantum, completed, then the end.
      if (j < 2) { decodeErrorAt = <isize>i; return 0; }
      let k = i + 1;
      if (j == 2) {
        while (k < n && (load<u8>(p + k) == 0x0a || load<u8>(p + k) == 0x0d)) k++;
        if (k >= n || load<u8>(p + k) != 0x3d) { decodeErrorAt = <isize>(k >= n ? n : k); return 0; }
        k++;
      }
      while (k < n && (load<u8>(p + k) == 0x0a || load<u8>(p + k) == 0x0d)) k++;
      if (k < n) { decodeErrorAt = <isize>k; return 0; }
      if (j == 2) bufByte(b, (acc >> 4) & 0xff);
      else { bufByte(b, (acc >> 10) & 0xff); bufByte(b, (acc >> 2) & 0xff); }
      return b;
    }
    const d = b64digit(c, url);
    if (d < 0) { decodeErrorAt = <isize>i; return 0; }
    acc = (acc << 6) | <u32>d;
    j++;
    if (j == 4) {
      bufByte(b, (acc >> 16) & 0xff);
      bufByte(b, (acc >> 8) & 0xff);
      bufByte(b, acc & 0xff);
      acc = 0;
      j = 0;
    }
    i++;
  }
  if (j == 0) return b;
  if (!raw || j == 1) { decodeErrorAt = <isize>n; return 0; }
  if (j == 2) bufByte(b, (acc >> 4) & 0xff);
  else { bufByte(b, (acc >> 10) & 0xff); bufByte(b, (acc >> 2) & 0xff); }
  return b;
}

function decodeFailed(name: string): void {
  msgBegin();
  msgStr('eval_builtin_error: ');
  msgStr(name);
  msgStr(': illegal base64 data at input byte ');
  msgDecimal(<u64>decodeErrorAt);
  msgAbort();
}

function msgDecimal(x: u64): void {
  if (x >= 10) msgDecimal(x / 10);
  msgByte(<u32>(0x30 + x % 10));
}

export function builtin_base64_encode(s: usize): usize {
  needString('base64.encode', 1, s);
  return b64encode(s, false, true);
}

export function builtin_base64_decode(s: usize): usize {
  needString('base64.decode', 1, s);
  const b = b64decode(stringPtr(s), stringLen(s), false, false);
  if (b == 0) decodeFailed('base64.decode');
  return bufToString(b);
}

export function builtin_base64_is_valid(s: usize): usize {
  needString('base64.is_valid', 1, s);
  return makeBool(b64decode(stringPtr(s), stringLen(s), false, false) != 0);
}

export function builtin_base64url_encode(s: usize): usize {
  needString('base64url.encode', 1, s);
  return b64encode(s, true, true);
}

export function builtin_base64url_encode_no_pad(s: usize): usize {
  needString('base64url.encode_no_pad', 1, s);
  return b64encode(s, true, false);
}

/** Padded or not (RFC 7515 appendix C), as OPA accepts both. */
export function builtin_base64url_decode(s: usize): usize {
  needString('base64url.decode', 1, s);
  const p = stringPtr(s);
  const n = stringLen(s);
  const padded = n > 0 && load<u8>(p + n - 1) == 0x3d;
  if (!padded && n % 4 == 1) fail('base64url.decode', 'illegal base64url string');
  const b = b64decode(p, n, true, !padded);
  if (b == 0) decodeFailed('base64url.decode');
  return bufToString(b);
}

// ---- hex ---------------------------------------------------------------

export function builtin_hex_encode(s: usize): usize {
  needString('hex.encode', 1, s);
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n * 2);
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    bufByte(b, litAt(HEXD, c >> 4));
    bufByte(b, litAt(HEXD, c & 15));
  }
  return bufToString(b);
}

function hexVal(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x41 + 10);
  return -1;
}

/** Go's "encoding/hex: invalid byte: U+0067 'g'". */
function invalidHexByte(c: u32): void {
  msgBegin();
  msgStr('eval_builtin_error: hex.decode: encoding/hex: invalid byte: U+00');
  msgByte(hexUpper(c >> 4));
  msgByte(hexUpper(c & 15));
  if (c >= 0x20 && c < 0x7f) {
    msgStr(" '");
    msgByte(c);
    msgStr("'");
  }
  msgAbort();
}

function hexUpper(d: u32): u32 {
  return d < 10 ? 0x30 + d : 0x41 + d - 10;
}

export function builtin_hex_decode(s: usize): usize {
  needString('hex.decode', 1, s);
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n / 2);
  let i: usize = 0;
  for (; i + 1 < n; i += 2) {
    const hi = hexVal(load<u8>(p + i));
    if (hi < 0) invalidHexByte(load<u8>(p + i));
    const lo = hexVal(load<u8>(p + i + 1));
    if (lo < 0) invalidHexByte(load<u8>(p + i + 1));
    bufByte(b, <u32>((hi << 4) | lo));
  }
  if (i < n) {
    if (hexVal(load<u8>(p + i)) < 0) invalidHexByte(load<u8>(p + i));
    fail('hex.decode', 'encoding/hex: odd length hex string');
  }
  return bufToString(b);
}

// ---- URL query ---------------------------------------------------------

/** Go's url.QueryEscape: unreserved bytes kept, space as '+', the rest %XX. */
function queryEscape(b: usize, p: usize, n: usize): void {
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    const keep = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
      c == 0x2d || c == 0x5f || c == 0x2e || c == 0x7e;
    if (keep) bufByte(b, c);
    else if (c == 0x20) bufByte(b, 0x2b);
    else {
      bufByte(b, 0x25);
      bufByte(b, hexUpper(c >> 4));
      bufByte(b, hexUpper(c & 15));
    }
  }
}

/** Go's url.QueryUnescape; aborts with its error on a bad escape. */
function queryUnescape(name: string, b: usize, p: usize, n: usize): void {
  let i: usize = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x25) {
      if (i + 2 >= n) badEscape(name, p + i, n - i);
      const hi = hexVal(load<u8>(p + i + 1));
      const lo = hexVal(load<u8>(p + i + 2));
      if (hi < 0 || lo < 0) badEscape(name, p + i, 3);
      bufByte(b, <u32>((hi << 4) | lo));
      i += 3;
    } else {
      bufByte(b, c == 0x2b ? 0x20 : c);
      i++;
    }
  }
}

function badEscape(name: string, p: usize, n: usize): void {
  msgBegin();
  msgStr('eval_builtin_error: ');
  msgStr(name);
  msgStr(': invalid URL escape "');
  msgBytes(p, n);
  msgStr('"');
  msgAbort();
}

export function builtin_urlquery_encode(s: usize): usize {
  needString('urlquery.encode', 1, s);
  const b = bufNew(stringLen(s));
  queryEscape(b, stringPtr(s), stringLen(s));
  return bufToString(b);
}

export function builtin_urlquery_decode(s: usize): usize {
  needString('urlquery.decode', 1, s);
  const b = bufNew(stringLen(s));
  queryUnescape('urlquery.decode', b, stringPtr(s), stringLen(s));
  return bufToString(b);
}

function encodePair(b: usize, k: usize, v: usize): void {
  if (bufLen(b) > 0) bufByte(b, 0x26);
  queryEscape(b, stringPtr(k), stringLen(k));
  bufByte(b, 0x3d);
  queryEscape(b, stringPtr(v), stringLen(v));
}

/** Keys in order; a value is a string, or an array or set of strings (one pair each). */
export function builtin_urlquery_encode_object(o: usize): usize {
  needObject('urlquery.encode_object', 1, o);
  const b = bufNew(32);
  const n = objectLen(o);
  for (let i: usize = 0; i < n; i++) {
    const k = objectKeyAt(o, i);
    const v = objectValueAt(o, i);
    if (load<u8>(k) != TYPE_STRING) typeError('urlquery.encode_object', 1, 'object[string: any<string, array[string], set[string]>]', o);
    const t = load<u8>(v);
    if (t == TYPE_STRING) encodePair(b, k, v);
    else if (t == TYPE_ARRAY || t == TYPE_SET) {
      const m = t == TYPE_ARRAY ? arrayLen(v) : setLen(v);
      for (let j: usize = 0; j < m; j++) {
        const e = t == TYPE_ARRAY ? arrayGet(v, j) : setAt(v, j);
        if (load<u8>(e) != TYPE_STRING) typeError('urlquery.encode_object', 1, 'object[string: any<string, array[string], set[string]>]', o);
        encodePair(b, k, e);
      }
    } else {
      typeError('urlquery.encode_object', 1, 'object[string: any<string, array[string], set[string]>]', o);
    }
  }
  return bufToString(b);
}

/** Go's url.ParseQuery: `&`-separated pairs, each key to the list of its values. */
export function builtin_urlquery_decode_object(s: usize): usize {
  needString('urlquery.decode_object', 1, s);
  const p = stringPtr(s);
  const n = stringLen(s);
  const r = makeObject();
  let start: usize = 0;
  while (start <= n) {
    let end = start;
    while (end < n && load<u8>(p + end) != 0x26) end++;
    if (end > start) {
      for (let q = start; q < end; q++) {
        if (load<u8>(p + q) == 0x3b) fail('urlquery.decode_object', 'invalid semicolon separator in query');
      }
      let eq = start;
      while (eq < end && load<u8>(p + eq) != 0x3d) eq++;
      const kb = bufNew(eq - start);
      queryUnescape('urlquery.decode_object', kb, p + start, eq - start);
      const vb = bufNew(end - eq);
      if (eq < end) queryUnescape('urlquery.decode_object', vb, p + eq + 1, end - eq - 1);
      const key = bufToString(kb);
      let list = objectGet(r, key);
      if (list == 0) {
        list = makeArray(1);
        objectInsert(r, key, list);
      }
      arrayAppend(list, bufToString(vb));
    }
    start = end + 1;
  }
  return r;
}

