// Network builtins: net.cidr_contains, net.cidr_intersects, net.cidr_is_valid,
// net.cidr_expand. Addresses parse as Go's net.ParseIP / net.ParseCIDR do
// (IPv4 dotted quads, IPv6 with `::` and an embedded IPv4 tail); an IPv4
// network contains IPv4 and IPv4-mapped IPv6 addresses only, as in Go.

import {
  TYPE_STRING, TYPE_ARRAY, TYPE_SET, TYPE_OBJECT, makeBool, makeArray, arrayAppend, arrayLen, arrayGet, setLen, setAt,
  setAdd, makeSet, objectLen, objectKeyAt, objectValueAt, makeNumberI64, stringLen, stringPtr,
} from '../value';
import { typeError } from '../errors';
import { alloc } from '../memory';
import { msgBegin, msgStr, msgBytes, msgAbort } from '../abort';
import { needString, bufNew, bufByte, bufLit, bufU64, bufToString, fail } from './util';

// A parsed address: 16 bytes @0, length (4 or 16) @16, prefix bits @20.
const ADDR_SIZE: usize = 24;

function hexVal(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  if ((c | 0x20) - 0x61 < 6) return <i32>((c | 0x20) - 0x61 + 10);
  return -1;
}

/** Parses a dotted quad at [p, p+n) into out[at..at+4); false if invalid. */
function parseV4(p: usize, n: usize, out: usize, at: usize): bool {
  let i: usize = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= n || load<u8>(p + i) != 0x2e) return false;
      i++;
    }
    const s = i;
    let v: u32 = 0;
    while (i < n && load<u8>(p + i) - 0x30 < 10) {
      v = v * 10 + <u32>(load<u8>(p + i) - 0x30);
      if (v > 255) return false;
      i++;
    }
    if (i == s || (i - s > 1 && load<u8>(p + s) == 0x30)) return false;
    store<u8>(out + at + <usize>part, <u8>v);
  }
  return i == n;
}

/** Parses an IPv6 address at [p, p+n) into 16 bytes at out. */
function parseV6(p: usize, n: usize, out: usize): bool {
  memory.fill(out, 0, 16);
  let i: usize = 0;
  let j: usize = 0; // bytes written
  let ellipsis: isize = -1;
  if (n >= 2 && load<u8>(p) == 0x3a && load<u8>(p + 1) == 0x3a) {
    ellipsis = 0;
    i = 2;
    if (i == n) return true;
  }
  while (j < 16) {
    // An embedded IPv4 tail?
    let q = i;
    while (q < n && hexVal(load<u8>(q + p)) >= 0) q++;
    if (q < n && load<u8>(p + q) == 0x2e) {
      if (ellipsis < 0 && j != 12) return false;
      if (j + 4 > 16) return false;
      if (!parseV4(p + i, n - i, out, j)) return false;
      j += 4;
      i = n;
      break;
    }
    let v: u32 = 0;
    let d: usize = 0;
    while (i < n && d < 5) {
      const h = hexVal(load<u8>(p + i));
      if (h < 0) break;
      v = (v << 4) | <u32>h;
      i++;
      d++;
    }
    if (d == 0 || d > 4) return false;
    store<u8>(out + j, <u8>(v >> 8));
    store<u8>(out + j + 1, <u8>v);
    j += 2;
    if (i == n) break;
    if (load<u8>(p + i) != 0x3a || i + 1 == n) return false;
    i++;
    if (load<u8>(p + i) == 0x3a) {
      if (ellipsis >= 0) return false;
      ellipsis = <isize>j;
      i++;
      if (i == n) break;
    }
  }
  if (i != n) return false;
  if (j < 16) {
    if (ellipsis < 0) return false;
    const e = <usize>ellipsis;
    const tail = j - e;
    memory.copy(out + 16 - tail, out + e, tail);
    memory.fill(out + e, 0, 16 - tail - e);
  } else if (ellipsis >= 0) {
    return false;
  }
  return true;
}

/** Parses an IP address (no prefix); returns an address record or 0. */
function parseIP(p: usize, n: usize): usize {
  const a = alloc(ADDR_SIZE);
  memory.fill(a, 0, ADDR_SIZE);
  let colon = false;
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) == 0x3a) { colon = true; break; }
  if (!colon) {
    if (!parseV4(p, n, a, 0)) return 0;
    store<u32>(a, 4, 16);
    store<u32>(a, 32, 20);
    return a;
  }
  if (!parseV6(p, n, a)) return 0;
  store<u32>(a, 16, 16);
  store<u32>(a, 128, 20);
  return a;
}

/** Parses "ip/bits" into a network (address masked); 0 if invalid. */
function parseCIDR(p: usize, n: usize): usize {
  let slash: usize = n;
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) == 0x2f) { slash = i; break; }
  if (slash == n) return 0;
  const a = parseIP(p, slash);
  if (a == 0) return 0;
  let bits: u32 = 0;
  const s = slash + 1;
  if (s == n) return 0;
  for (let i = s; i < n; i++) {
    const d = <u32>load<u8>(p + i) - 0x30;
    if (d >= 10) return 0;
    bits = bits * 10 + d;
    if (bits > 128) return 0;
  }
  const len = load<u32>(a, 16);
  if (bits > len * 8) return 0;
  store<u32>(a, bits, 20);
  maskInPlace(a, bits);
  return a;
}

function maskInPlace(a: usize, bits: u32): void {
  const len = <usize>load<u32>(a, 16);
  for (let i: usize = 0; i < len; i++) {
    const keep = <i32>bits - <i32>(i * 8);
    if (keep >= 8) continue;
    const m: u32 = keep <= 0 ? 0 : (0xff << (8 - <u32>keep)) & 0xff;
    store<u8>(a + i, <u8>(load<u8>(a + i) & m));
  }
}

/** Go's To4: the 4-byte form of an IPv4 or IPv4-mapped address; 0 if none. */
function to4(a: usize, out: usize): bool {
  if (load<u32>(a, 16) == 4) { memory.copy(out, a, 4); return true; }
  for (let i: usize = 0; i < 10; i++) if (load<u8>(a + i) != 0) return false;
  if (load<u8>(a + 10) != 0xff || load<u8>(a + 11) != 0xff) return false;
  memory.copy(out, a + 12, 4);
  return true;
}

/** Go's IPNet.Contains. */
function netContains(net: usize, ip: usize): bool {
  const nlen = <usize>load<u32>(net, 16);
  const tmp = alloc(16);
  let ipp = ip;
  let ilen = <usize>load<u32>(ip, 16);
  if (to4(ip, tmp)) { ipp = tmp; ilen = 4; }
  if (ilen != nlen) return false;
  const bits = load<u32>(net, 20);
  for (let i: usize = 0; i < nlen; i++) {
    const keep = <i32>bits - <i32>(i * 8);
    if (keep <= 0) break;
    const m: u32 = keep >= 8 ? 0xff : (0xff << (8 - <u32>keep)) & 0xff;
    if ((load<u8>(ipp + i) & m) != load<u8>(net + i)) return false;
  }
  return true;
}

/** The last address of a network (all host bits set). */
function lastAddress(net: usize): usize {
  const a = alloc(ADDR_SIZE);
  memory.copy(a, net, ADDR_SIZE);
  const len = <usize>load<u32>(net, 16);
  const bits = load<u32>(net, 20);
  for (let i: usize = 0; i < len; i++) {
    const keep = <i32>bits - <i32>(i * 8);
    if (keep >= 8) continue;
    const host: u32 = keep <= 0 ? 0xff : 0xff >> <u32>keep;
    store<u8>(a + i, <u8>(load<u8>(a + i) | host));
  }
  return a;
}

function invalidCIDR(name: string, s: usize): void {
  msgBegin();
  msgStr('eval_builtin_error: ');
  msgStr(name);
  msgStr(': invalid CIDR address: ');
  msgBytes(stringPtr(s), stringLen(s));
  msgAbort();
}

function cidrOrFail(name: string, s: usize): usize {
  const net = parseCIDR(stringPtr(s), stringLen(s));
  if (net == 0) invalidCIDR(name, s);
  return net;
}

export function builtin_net_cidr_contains(cidr: usize, x: usize): usize {
  needString('net.cidr_contains', 1, cidr);
  needString('net.cidr_contains', 2, x);
  const net = cidrOrFail('net.cidr_contains', cidr);
  const ip = parseIP(stringPtr(x), stringLen(x));
  if (ip != 0) return makeBool(netContains(net, ip));
  const other = cidrOrFail('net.cidr_contains', x);
  return makeBool(netContains(net, other) && netContains(net, lastAddress(other)));
}

export function builtin_net_cidr_intersects(a: usize, b: usize): usize {
  needString('net.cidr_intersects', 1, a);
  needString('net.cidr_intersects', 2, b);
  const na = cidrOrFail('net.cidr_intersects', a);
  const nb = cidrOrFail('net.cidr_intersects', b);
  return makeBool(netContains(na, nb) || netContains(nb, na));
}

export function builtin_net_cidr_is_valid(s: usize): usize {
  if (load<u8>(s) != TYPE_STRING) return makeBool(false);
  return makeBool(parseCIDR(stringPtr(s), stringLen(s)) != 0);
}

/** Go's IP.String for a 4- or 16-byte address. */
function formatIP(b: usize, a: usize): void {
  const len = <usize>load<u32>(a, 16);
  const v4 = alloc(4);
  if (len == 4 || to4(a, v4)) {
    const p = len == 4 ? a : v4;
    for (let i: usize = 0; i < 4; i++) {
      if (i > 0) bufByte(b, 0x2e);
      bufU64(b, <u64>load<u8>(p + i));
    }
    return;
  }
  // Longest run (>= 2) of zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && load<u16>(a + (<usize>j << 1)) == 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j == i ? i + 1 : j;
  }
  for (let i = 0; i < 8; i++) {
    if (i == bestStart) {
      bufLit(b, '::');
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i != bestStart + bestLen) bufByte(b, 0x3a);
    const g = (<u32>load<u8>(a + (<usize>i << 1)) << 8) | <u32>load<u8>(a + (<usize>i << 1) + 1);
    let started = false;
    for (let k = 12; k >= 0; k -= 4) {
      const d = (g >> <u32>k) & 15;
      if (d == 0 && !started && k > 0) continue;
      started = true;
      bufByte(b, d < 10 ? 0x30 + d : 0x61 + d - 10);
    }
  }
}

/** All addresses of a network, at most 65536. */
export function builtin_net_cidr_expand(s: usize): usize {
  needString('net.cidr_expand', 1, s);
  const net = cidrOrFail('net.cidr_expand', s);
  const len = load<u32>(net, 16);
  const hostBits = len * 8 - load<u32>(net, 20);
  if (hostBits > 16) fail('net.cidr_expand', 'network too large to expand');
  const count: u32 = 1 << hostBits;
  const r = makeArray(<usize>count);
  const cur = alloc(ADDR_SIZE);
  memory.copy(cur, net, ADDR_SIZE);
  for (let k: u32 = 0; k < count; k++) {
    const b = bufNew(40);
    formatIP(b, cur);
    arrayAppend(r, bufToString(b));
    // Increment the address.
    for (let i = <i32>len - 1; i >= 0; i--) {
      const v = <u32>load<u8>(cur + <usize>i) + 1;
      store<u8>(cur + <usize>i, <u8>v);
      if (v <= 0xff) break;
    }
  }
  return r;
}

/** Parsers and formatter for other network builtins (net.cidr_merge). */
export function parseIPAddress(p: usize, n: usize): usize { return parseIP(p, n); }
export function parseCIDRAddress(p: usize, n: usize): usize { return parseCIDR(p, n); }
export function formatIPAddress(b: usize, a: usize): void { formatIP(b, a); }

// ---- net.cidr_contains_matches ---------------------------------------------

/** Keys and address strings of a collection operand, appended to `keys` and `strs`. */
function collect(i: i32, v: usize, keys: usize, strs: usize): void {
  const t = load<u8>(v);
  if (t == TYPE_STRING) { arrayAppend(keys, v); arrayAppend(strs, v); return; }
  if (t == TYPE_ARRAY) {
    for (let k: usize = 0; k < arrayLen(v); k++) { arrayAppend(keys, makeNumberI64(<i64>k)); arrayAppend(strs, entryString(i, arrayGet(v, k))); }
  } else if (t == TYPE_SET) {
    for (let k: usize = 0; k < setLen(v); k++) { arrayAppend(keys, setAt(v, k)); arrayAppend(strs, entryString(i, setAt(v, k))); }
  } else if (t == TYPE_OBJECT) {
    for (let k: usize = 0; k < objectLen(v); k++) { arrayAppend(keys, objectKeyAt(v, k)); arrayAppend(strs, entryString(i, objectValueAt(v, k))); }
  } else {
    typeError('net.cidr_contains_matches', i, 'any of {string, array, set, object}', v);
  }
}

/** A string, or the first element of a non-empty array (a tuple carrying data). */
function entryString(i: i32, e: usize): usize {
  const t = load<u8>(e);
  if (t == TYPE_STRING) return e;
  if (t == TYPE_ARRAY && arrayLen(e) > 0 && load<u8>(arrayGet(e, 0)) == TYPE_STRING) return arrayGet(e, 0);
  fail('net.cidr_contains_matches', i == 1 ? 'operand 1: element must be string or non-empty array' : 'operand 2: element must be string or non-empty array');
  return 0;
}

/** The set of [key1, key2] where the CIDR at key1 contains the CIDR or address at key2. */
export function builtin_net_cidr_contains_matches(a: usize, b: usize): usize {
  const name = 'net.cidr_contains_matches';
  const ka = makeArray(4);
  const sa = makeArray(4);
  const kb = makeArray(4);
  const sb = makeArray(4);
  collect(1, a, ka, sa);
  collect(2, b, kb, sb);
  const r = makeSet();
  for (let i: usize = 0; i < arrayLen(sa); i++) {
    const net = cidrOrFail(name, arrayGet(sa, i));
    for (let j: usize = 0; j < arrayLen(sb); j++) {
      const x = arrayGet(sb, j);
      const ip = parseIP(stringPtr(x), stringLen(x));
      let inside: bool;
      if (ip != 0) inside = netContains(net, ip);
      else {
        const other = cidrOrFail(name, x);
        inside = netContains(net, other) && netContains(net, lastAddress(other));
      }
      if (!inside) continue;
      const pair = makeArray(2);
      arrayAppend(pair, arrayGet(ka, i));
      arrayAppend(pair, arrayGet(kb, j));
      setAdd(r, pair);
    }
  }
  return r;
}
