// JWT builtins that need no public-key cryptography: io.jwt.decode and the
// HMAC verifications io.jwt.verify_hs256/384/512. Tokens are compact JWS
// (three base64url sections); JWE is refused, as OPA does.

import {
  TYPE_OBJECT, TYPE_STRING, makeBool, makeArray, arrayAppend, objectGet, makeStringLiteral, stringLen, stringPtr,
} from '../value';
import { parseJson } from '../json';
import { alloc } from '../memory';
import { msgBegin, msgStr, msgByte, msgAbort } from '../abort';
import { needString, bufNew, bufByte, bufPtr, bufLen, bufToString, fail, bytesEqualLitFold } from './util';
import { b64decode, decodeErrorAt } from './encoding';
import { hmac, digestLength, SHA256, SHA384, SHA512 } from './digest';

// Section bounds of the last split: [s0, e0), [s1, e1), [s2, e2).
let s1: usize = 0;
let s2: usize = 0;
let e0: usize = 0;
let e1: usize = 0;

function split(name: string, p: usize, n: usize): void {
  let dots = 0;
  for (let i: usize = 0; i < n; i++) {
    if (load<u8>(p + i) != 0x2e) continue;
    dots++;
    if (dots == 1) { e0 = i; s1 = i + 1; } else if (dots == 2) { e1 = i; s2 = i + 1; }
  }
  if (dots == 0) fail(name, 'encoded JWT had no period separators');
  if (dots != 2) {
    msgBegin();
    msgStr('eval_builtin_error: ');
    msgStr(name);
    msgStr(': encoded JWT must have 3 sections, found ');
    msgDigits(<u32>dots + 1);
    msgAbort();
  }
}

function msgDigits(x: u32): void {
  if (x >= 10) msgDigits(x / 10);
  msgByte(0x30 + x % 10);
}

/** base64url without padding (padding tolerated); aborts naming the section. */
function section(name: string, what: string, p: usize, n: usize): usize {
  let m = n;
  while (m > 0 && load<u8>(p + m - 1) == 0x3d) m--;
  const b = b64decode(p, m, true, true);
  if (b == 0) {
    msgBegin();
    msgStr('eval_builtin_error: ');
    msgStr(name);
    msgStr(': JWT ');
    msgStr(what);
    msgStr(' had invalid encoding: illegal base64 data at input byte ');
    msgDigits(<u32>decodeErrorAt);
    msgAbort();
  }
  return b;
}

function json(name: string, what: string, b: usize): usize {
  const v = parseJson(bufPtr(b), bufLen(b));
  if (v == 0) {
    msgBegin();
    msgStr('eval_builtin_error: ');
    msgStr(name);
    msgStr(': JWT ');
    msgStr(what);
    msgStr(' had invalid JSON');
    msgAbort();
  }
  return v;
}

const HEX = '0123456789abcdef';

export function builtin_io_jwt_decode(token: usize): usize {
  const name = 'io.jwt.decode';
  needString(name, 1, token);
  let p = stringPtr(token);
  let n = stringLen(token);
  // Nested tokens (cty: JWT) carry the inner token as the payload.
  for (let depth = 0; depth < 16; depth++) {
    split(name, p, n);
    const header = json(name, 'header', section(name, 'header', p, e0));
    if (load<u8>(header) != TYPE_OBJECT) fail(name, 'JWT header is not an object');
    if (objectGet(header, makeStringLiteral('enc')) != 0) fail(name, 'JWT is a JWE object, which is not supported');
    const payloadBytes = section(name, 'payload', p + s1, e1 - s1);
    const cty = objectGet(header, makeStringLiteral('cty'));
    if (cty != 0 && load<u8>(cty) == TYPE_STRING && bytesEqualLitFold(stringPtr(cty), stringLen(cty), 'jwt')) {
      // The inner token, as a JSON string or as raw text.
      if (bufLen(payloadBytes) > 0 && load<u8>(bufPtr(payloadBytes)) == 0x22) {
        const inner = json(name, 'payload', payloadBytes);
        if (load<u8>(inner) != TYPE_STRING) fail(name, 'nested JWT payload is not a string');
        p = stringPtr(inner);
        n = stringLen(inner);
      } else {
        p = bufPtr(payloadBytes);
        n = bufLen(payloadBytes);
      }
      continue;
    }
    const payload = json(name, 'payload', payloadBytes);
    if (load<u8>(payload) != TYPE_OBJECT) fail(name, 'JWT payload is not an object');
    const sig = section(name, 'signature', p + s2, n - s2);
    const hex = bufNew(bufLen(sig) * 2);
    for (let i: usize = 0; i < bufLen(sig); i++) {
      const c = <u32>load<u8>(bufPtr(sig) + i);
      bufByte(hex, <u32>load<u16>(changetype<usize>(HEX) + ((c >> 4) << 1)));
      bufByte(hex, <u32>load<u16>(changetype<usize>(HEX) + ((c & 15) << 1)));
    }
    const r = makeArray(3);
    arrayAppend(r, header);
    arrayAppend(r, payload);
    arrayAppend(r, bufToString(hex));
    return r;
  }
  fail(name, 'JWT nested too deeply');
  return 0;
}

function verifyHS(name: string, kind: i32, outLen: usize, token: usize, secret: usize): usize {
  needString(name, 1, token);
  needString(name, 2, secret);
  const p = stringPtr(token);
  const n = stringLen(token);
  split(name, p, n);
  const sig = section(name, 'signature', p + s2, n - s2);
  const mac = alloc(digestLength(kind));
  hmac(kind, stringPtr(secret), stringLen(secret), p, e1, mac);
  if (bufLen(sig) != outLen) return makeBool(false);
  let diff: u32 = 0;
  for (let i: usize = 0; i < outLen; i++) diff |= <u32>(load<u8>(bufPtr(sig) + i) ^ load<u8>(mac + i));
  return makeBool(diff == 0);
}

export function builtin_io_jwt_verify_hs256(t: usize, s: usize): usize {
  return verifyHS('io.jwt.verify_hs256', SHA256, 32, t, s);
}

export function builtin_io_jwt_verify_hs384(t: usize, s: usize): usize {
  return verifyHS('io.jwt.verify_hs384', SHA384, 48, t, s);
}

export function builtin_io_jwt_verify_hs512(t: usize, s: usize): usize {
  return verifyHS('io.jwt.verify_hs512', SHA512, 64, t, s);
}
