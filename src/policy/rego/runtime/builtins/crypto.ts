// Digest builtins: crypto.md5, crypto.sha1, crypto.sha256, crypto.sha512
// (hex digests of a string's bytes), crypto.hmac.* and crypto.hmac.equal.

import { makeBool, stringLen, stringPtr } from '../value';
import { alloc } from '../memory';
import { needString, bufNew, bufByte, bufToString } from './util';
import { digest, hmac, digestLength, MD5, SHA1, SHA256, SHA384, SHA512 } from './digest';

const HEX = '0123456789abcdef';

function hexOf(p: usize, n: usize): usize {
  const b = bufNew(n * 2);
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    bufByte(b, <u32>load<u16>(changetype<usize>(HEX) + ((c >> 4) << 1)));
    bufByte(b, <u32>load<u16>(changetype<usize>(HEX) + ((c & 15) << 1)));
  }
  return bufToString(b);
}

function hashBuiltin(name: string, kind: i32, s: usize): usize {
  needString(name, 1, s);
  const out = alloc(digestLength(kind));
  digest(kind, stringPtr(s), stringLen(s), out);
  return hexOf(out, digestLength(kind));
}

export function builtin_crypto_md5(s: usize): usize { return hashBuiltin('crypto.md5', MD5, s); }
export function builtin_crypto_sha1(s: usize): usize { return hashBuiltin('crypto.sha1', SHA1, s); }
export function builtin_crypto_sha256(s: usize): usize { return hashBuiltin('crypto.sha256', SHA256, s); }
export function builtin_crypto_sha512(s: usize): usize { return hashBuiltin('crypto.sha512', SHA512, s); }
export function builtin_crypto_sha384(s: usize): usize { return hashBuiltin('crypto.sha384', SHA384, s); }

function hmacBuiltin(name: string, kind: i32, msg: usize, key: usize): usize {
  needString(name, 1, msg);
  needString(name, 2, key);
  const out = alloc(digestLength(kind));
  hmac(kind, stringPtr(key), stringLen(key), stringPtr(msg), stringLen(msg), out);
  return hexOf(out, digestLength(kind));
}

export function builtin_crypto_hmac_md5(m: usize, k: usize): usize { return hmacBuiltin('crypto.hmac.md5', MD5, m, k); }
export function builtin_crypto_hmac_sha1(m: usize, k: usize): usize { return hmacBuiltin('crypto.hmac.sha1', SHA1, m, k); }
export function builtin_crypto_hmac_sha256(m: usize, k: usize): usize { return hmacBuiltin('crypto.hmac.sha256', SHA256, m, k); }
export function builtin_crypto_hmac_sha512(m: usize, k: usize): usize { return hmacBuiltin('crypto.hmac.sha512', SHA512, m, k); }

/** Constant-time comparison of two MACs (time depends on the lengths only). */
export function builtin_crypto_hmac_equal(a: usize, b: usize): usize {
  needString('crypto.hmac.equal', 1, a);
  needString('crypto.hmac.equal', 2, b);
  const n = stringLen(a);
  if (n != stringLen(b)) return makeBool(false);
  let diff: u32 = 0;
  for (let i: usize = 0; i < n; i++) diff |= <u32>(load<u8>(stringPtr(a) + i) ^ load<u8>(stringPtr(b) + i));
  return makeBool(diff == 0);
}
