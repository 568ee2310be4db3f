// glob.match and glob.quote_meta with OPA's glob syntax: `*` (any run of
// non-delimiter characters), `**` (any run), `?` (one non-delimiter
// character), `[abc]`, `[a-z]`, `[!...]`, `{alt1,alt2}` and `\` escapes.
// A glob is translated to an anchored regular expression and run on the
// regex engine, so matching is linear in the input.

import { TYPE_NULL, TYPE_ARRAY, TYPE_STRING, makeBool, arrayLen, arrayGet, stringLen, stringPtr } from '../value';
import { typeError } from '../errors';
import { needString, decodeAt, stepAt, bufNew, bufByte, bufBytes, bufCodePoint, bufLit, bufPtr, bufLen, bufToString, fail } from './util';
import { reCompile, reExec } from './regex-vm';

function isRegexMeta(c: u32): bool {
  return c == 0x5c || c == 0x2e || c == 0x2b || c == 0x2a || c == 0x3f || c == 0x28 || c == 0x29 || c == 0x7c ||
    c == 0x5b || c == 0x5d || c == 0x7b || c == 0x7d || c == 0x5e || c == 0x24 || c == 0x2d;
}

function regexLiteral(b: usize, cp: u32): void {
  if (cp < 0x80 && isRegexMeta(cp)) bufByte(b, 0x5c);
  bufCodePoint(b, cp);
}

/** `[^delims]`, or `.` (with the s flag) when there are none. */
function notDelimiter(b: usize, delims: usize, nd: usize): void {
  if (nd == 0) { bufByte(b, 0x2e); return; }
  bufLit(b, '[^');
  for (let i: usize = 0; i < nd; i++) regexLiteral(b, load<u32>(delims + (i << 2)));
  bufByte(b, 0x5d);
}

/** Writes the regex for [p, p+n); false when the glob is malformed. */
function translate(b: usize, p: usize, n: usize, delims: usize, nd: usize): bool {
  let i: usize = 0;
  let braces = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x2a) {
      if (i + 1 < n && load<u8>(p + i + 1) == 0x2a) {
        bufLit(b, '.*');
        i += 2;
        while (i < n && load<u8>(p + i) == 0x2a) i++;
      } else {
        notDelimiter(b, delims, nd);
        bufByte(b, 0x2a);
        i++;
      }
      continue;
    }
    if (c == 0x3f) { notDelimiter(b, delims, nd); i++; continue; }
    if (c == 0x5c) {
      i++;
      if (i >= n) return false;
      regexLiteral(b, decodeAt(p + i, n - i));
      i += stepAt(p + i, n - i);
      continue;
    }
    if (c == 0x5b) {
      i++;
      bufByte(b, 0x5b);
      if (i < n && load<u8>(p + i) == 0x21) { bufByte(b, 0x5e); i++; }
      let items = 0;
      while (i < n && load<u8>(p + i) != 0x5d) {
        let cp = decodeAt(p + i, n - i);
        if (cp == 0x5c && i + 1 < n) { i++; cp = decodeAt(p + i, n - i); }
        i += stepAt(p + i, n - i);
        if (cp == 0x2d && items > 0 && i < n && load<u8>(p + i) != 0x5d) { bufByte(b, 0x2d); continue; }
        regexLiteral(b, cp);
        items++;
      }
      if (i >= n || items == 0) return false;
      bufByte(b, 0x5d);
      i++;
      continue;
    }
    if (c == 0x7b) { bufLit(b, '(?:'); braces++; i++; continue; }
    if (c == 0x7d && braces > 0) { bufByte(b, 0x29); braces--; i++; continue; }
    if (c == 0x2c && braces > 0) { bufByte(b, 0x7c); i++; continue; }
    regexLiteral(b, decodeAt(p + i, n - i));
    i += stepAt(p + i, n - i);
  }
  return braces == 0;
}

export function builtin_glob_match(pat: usize, delimiters: usize, s: usize): usize {
  needString('glob.match', 1, pat);
  const dt = load<u8>(delimiters);
  if (dt != TYPE_NULL && dt != TYPE_ARRAY) typeError('glob.match', 2, 'any of {array, null}', delimiters);
  needString('glob.match', 3, s);
  // null: no delimiters; []: the default ".".
  const ds = bufNew(16);
  if (dt == TYPE_ARRAY) {
    const n = arrayLen(delimiters);
    for (let i: usize = 0; i < n; i++) {
      const d = arrayGet(delimiters, i);
      if (load<u8>(d) != TYPE_STRING) typeError('glob.match', 2, 'array of strings', delimiters);
      if (stringLen(d) == 0) continue;
      const cp = decodeAt(stringPtr(d), stringLen(d));
      for (let k = 0; k < 4; k++) bufByte(ds, (cp >> (k * 8)) & 0xff);
    }
    if (n == 0) bufBytes(ds, DOT, 4);
  }
  const re = bufNew(stringLen(pat) * 2 + 16);
  bufLit(re, '^(?s:');
  if (!translate(re, stringPtr(pat), stringLen(pat), bufPtr(ds), bufLen(ds) / 4)) fail('glob.match', 'unexpected end of input');
  bufLit(re, ')$');
  const prog = reCompile(bufPtr(re), bufLen(re));
  if (prog == 0) fail('glob.match', 'invalid pattern');
  return makeBool(reExec(prog, stringPtr(s), stringLen(s), 0, false));
}

const DOT = memory.data<u8>([0x2e, 0, 0, 0]);

/** Escapes the glob's special characters. */
export function builtin_glob_quote_meta(s: usize): usize {
  needString('glob.quote_meta', 1, s);
  const p = stringPtr(s);
  const n = stringLen(s);
  const b = bufNew(n + 8);
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x2a || c == 0x3f || c == 0x5c || c == 0x5b || c == 0x5d || c == 0x7b || c == 0x7d) bufByte(b, 0x5c);
    bufByte(b, c);
  }
  return bufToString(b);
}
