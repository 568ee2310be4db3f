// sprintf with Go's fmt semantics, as OPA calls it: integers are Go int64s
// (or big ints), other numbers float64, strings Go strings, and every other
// value its Rego text ([1, "a"], {"k": 1}, set()). Verbs: %v %s %q %d %b %o
// %O %x %X %c %U %e %E %f %F %g %G %t %T %%, with flags (+ - # 0 space),
// width and precision; wrong verbs and argument counts print Go's %!x(...)
// markers.

import {
  TYPE_NULL, TYPE_BOOLEAN, TYPE_NUMBER, TYPE_STRING, TYPE_ARRAY, TYPE_OBJECT, NUM_INT, NUM_BIGINT, NUM_REF,
  arrayLen, arrayGet, objectLen, objectKeyAt, objectValueAt, setLen, setAt, stringLen, stringPtr, boolValue,
} from '../value';
import { numberToF64, numberTextPtr, numberTextLen } from '../number';
import { dumpJson } from '../json';
import {
  needString, needArray, bufNew, bufByte, bufBytes, bufLit, bufU64, bufPtr, bufLen, bufToString,
  decodeAt, stepAt,
} from './util';
import { shortestDigits, exactDigits, roundDigits, zeroDigits, decDigits, decCount, decPoint } from './decimal';

// ---- Rego text of a value (OPA's ast.Term.String) -------------------------

/** Go's strconv.Quote (printable non-ASCII kept as is). */
function quote(b: usize, p: usize, n: usize): void {
  bufByte(b, 0x22);
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    if (c == 0x22 || c == 0x5c) { bufByte(b, 0x5c); bufByte(b, c); }
    else if (c == 0x0a) bufLit(b, '\\n');
    else if (c == 0x09) bufLit(b, '\\t');
    else if (c == 0x0d) bufLit(b, '\\r');
    else if (c < 0x20 || c == 0x7f) {
      bufLit(b, '\\x');
      bufByte(b, hexDigit(c >> 4, false));
      bufByte(b, hexDigit(c & 15, false));
    } else bufByte(b, c);
  }
  bufByte(b, 0x22);
}

function regoText(b: usize, v: usize): void {
  switch (load<u8>(v)) {
    case TYPE_NULL: bufLit(b, 'null'); return;
    case TYPE_BOOLEAN: bufLit(b, boolValue(v) ? 'true' : 'false'); return;
    case TYPE_NUMBER: {
      const t = dumpJson(v);
      let n: usize = 0;
      while (load<u8>(t + n) != 0) n++;
      bufBytes(b, t, n);
      return;
    }
    case TYPE_STRING: quote(b, stringPtr(v), stringLen(v)); return;
    case TYPE_ARRAY: {
      bufByte(b, 0x5b);
      for (let i: usize = 0; i < arrayLen(v); i++) { if (i > 0) bufLit(b, ', '); regoText(b, arrayGet(v, i)); }
      bufByte(b, 0x5d);
      return;
    }
    case TYPE_OBJECT: {
      bufByte(b, 0x7b);
      for (let i: usize = 0; i < objectLen(v); i++) {
        if (i > 0) bufLit(b, ', ');
        regoText(b, objectKeyAt(v, i));
        bufLit(b, ': ');
        regoText(b, objectValueAt(v, i));
      }
      bufByte(b, 0x7d);
      return;
    }
  }
  if (setLen(v) == 0) { bufLit(b, 'set()'); return; }
  bufByte(b, 0x7b);
  for (let i: usize = 0; i < setLen(v); i++) { if (i > 0) bufLit(b, ', '); regoText(b, setAt(v, i)); }
  bufByte(b, 0x7d);
}

// ---- formatting state ------------------------------------------------------

let minus = false;
let plus = false;
let sharp = false;
let zero = false;
let space = false;
let width: i32 = -1;
let prec: i32 = -1;

function hexDigit(d: u32, upper: bool): u32 {
  return d < 10 ? 0x30 + d : (upper ? 0x41 : 0x61) + d - 10;
}

/** Appends [p, p+n) padded to the width (counted in code points). */
function padded(b: usize, p: usize, n: usize, numeric: bool): void {
  let len: i32 = 0;
  for (let i: usize = 0; i < n; i += stepAt(p + i, n - i)) len++;
  const fill = width - len;
  if (fill <= 0) { bufBytes(b, p, n); return; }
  if (minus) { bufBytes(b, p, n); for (let i = 0; i < fill; i++) bufByte(b, 0x20); return; }
  if (zero && numeric) {
    // Zeros go after the sign.
    let s: usize = 0;
    if (n > 0 && (load<u8>(p) == 0x2d || load<u8>(p) == 0x2b || load<u8>(p) == 0x20)) { bufByte(b, load<u8>(p)); s = 1; }
    for (let i = 0; i < fill; i++) bufByte(b, 0x30);
    bufBytes(b, p + s, n - s);
    return;
  }
  for (let i = 0; i < fill; i++) bufByte(b, 0x20);
  bufBytes(b, p, n);
}

function signOf(t: usize, neg: bool): void {
  if (neg) bufByte(t, 0x2d);
  else if (plus) bufByte(t, 0x2b);
  else if (space) bufByte(t, 0x20);
}

/** An integer (magnitude u, sign) in a base, with precision as minimum digits. */
function formatInt(b: usize, neg: bool, u: u64, verb: u32): void {
  const t = bufNew(72);
  signOf(t, neg);
  let base: u64 = 10;
  let upper = false;
  if (verb == 0x62) base = 2;
  else if (verb == 0x6f || verb == 0x4f) base = 8;
  else if (verb == 0x78) base = 16;
  else if (verb == 0x58) { base = 16; upper = true; }
  if (verb == 0x4f) bufLit(t, '0o');
  else if (sharp && base == 8 && u != 0) bufByte(t, 0x30);
  else if (sharp && base == 16) bufLit(t, upper ? '0X' : '0x');
  else if (sharp && base == 2) bufLit(t, '0b');
  const digits = bufNew(72);
  let x = u;
  do { bufByte(digits, hexDigit(<u32>(x % base), upper)); x /= base; } while (x != 0);
  const nd = <i32>bufLen(digits);
  for (let i = nd; i < prec; i++) bufByte(t, 0x30);
  if (!(prec == 0 && u == 0)) for (let i = nd; i > 0; i--) bufByte(t, load<u8>(bufPtr(digits) + <usize>(i - 1)));
  const savedZero = zero;
  if (prec >= 0) zero = false;
  padded(b, bufPtr(t), bufLen(t), true);
  zero = savedZero;
}

function formatFloat(b: usize, f: f64, verb: u32): void {
  const t = bufNew(64);
  if (isNaN(f)) { bufLit(t, plus ? '+NaN' : 'NaN'); padded(b, bufPtr(t), bufLen(t), false); return; }
  signOf(t, f < 0 || (f == 0 && 1 / f < 0));
  if (!isFinite(f)) { bufLit(t, 'Inf'); padded(b, bufPtr(t), bufLen(t), false); return; }
  const upper = verb == 0x45 || verb == 0x47;
  if (verb == 0x65 || verb == 0x45) {
    const p = prec < 0 ? 6 : prec;
    if (f == 0) zeroDigits(); else { exactDigits(f); roundDigits(p + 1); }
    expForm(t, p, upper);
  } else if (verb == 0x66 || verb == 0x46) {
    const p = prec < 0 ? 6 : prec;
    if (f == 0) zeroDigits(); else { exactDigits(f); roundDigits(decPoint + p); }
    fixedForm(t, p);
  } else {
    // %v and %g as strconv's 'g': shortest digits (or `prec` significant
    // ones); the %e form when the exponent is < -4 or >= the precision
    // (6 for shortest).
    let p = prec;
    if (f == 0) zeroDigits();
    else if (p < 0) shortestDigits(f);
    else { if (p == 0) p = 1; exactDigits(f); roundDigits(p); }
    const nd = decCount;
    const dp = decPoint;
    let digits = p < 0 ? nd : p;
    let eprec = digits;
    if (eprec > nd && nd >= dp) eprec = nd;
    if (p < 0) eprec = 6;
    const exp = dp - 1;
    if (exp < -4 || exp >= eprec) {
      if (digits > nd) digits = nd;
      expForm(t, digits > 0 ? digits - 1 : 0, upper);
    } else {
      if (digits > dp) digits = nd;
      fixedForm(t, digits - dp > 0 ? digits - dp : 0);
    }
  }
  padded(b, bufPtr(t), bufLen(t), true);
}

function digitAt(i: i32): u32 {
  return i >= 0 && i < decCount ? <u32>load<u8>(decDigits + <usize>i) : 0x30;
}

/** d.ddde±XX with `p` digits after the point. */
function expForm(t: usize, p: i32, upper: bool): void {
  bufByte(t, digitAt(0));
  if (p > 0 || sharp) bufByte(t, 0x2e);
  for (let i = 1; i <= p; i++) bufByte(t, digitAt(i));
  bufByte(t, upper ? 0x45 : 0x65);
  let e = decCount == 0 ? 0 : decPoint - 1;
  bufByte(t, e < 0 ? 0x2d : 0x2b);
  if (e < 0) e = -e;
  if (e < 10) bufByte(t, 0x30);
  bufU64(t, <u64>e);
}

/** ddd.ddd with `p` digits after the point. */
function fixedForm(t: usize, p: i32): void {
  const dp = decPoint;
  if (dp <= 0) bufByte(t, 0x30);
  else for (let i = 0; i < dp; i++) bufByte(t, digitAt(i));
  if (p > 0 || sharp) bufByte(t, 0x2e);
  for (let i = 0; i < p; i++) bufByte(t, digitAt(dp + i));
}

// ---- arguments --------------------------------------------------------------

const K_INT: i32 = 0;
const K_BIG: i32 = 1;
const K_FLOAT: i32 = 2;
const K_STR: i32 = 3;

function kindOf(v: usize): i32 {
  const t = load<u8>(v);
  if (t == TYPE_NUMBER) {
    const r = load<u8>(v, 1);
    if (r == NUM_INT) return K_INT;
    if (r == NUM_BIGINT) return K_BIG;
    // Written numbers beyond f64 (1e400) reach Go's fmt as their text, a string.
    if (r == NUM_REF && !isFinite(load<f64>(v, 8))) return K_STR;
    return K_FLOAT;
  }
  return K_STR;
}

/** The Go string an argument stands for: the string itself, or the value's Rego text. */
function stringOf(v: usize): usize {
  if (load<u8>(v) == TYPE_STRING) return v;
  const b = bufNew(32);
  regoText(b, v);
  return bufToString(b);
}

function typeNameOf(kind: i32): string {
  return kind == K_INT ? 'int64' : kind == K_BIG ? '*big.Int' : kind == K_FLOAT ? 'float64' : 'string';
}

/** Go's %!verb(type=value) for a verb that does not fit the argument. */
function badVerb(b: usize, verb: u32, v: usize, kind: i32): void {
  bufLit(b, '%!');
  bufCodePointOf(b, verb);
  bufByte(b, 0x28);
  bufLit(b, typeNameOf(kind));
  bufByte(b, 0x3d);
  const savedW = width, savedP = prec;
  width = -1; prec = -1;
  formatArg(b, v, kind, 0x76);
  width = savedW; prec = savedP;
  bufByte(b, 0x29);
}

function bufCodePointOf(b: usize, cp: u32): void {
  if (cp < 0x80) bufByte(b, cp); else bufCodePointRaw(b, cp);
}

function bufCodePointRaw(b: usize, cp: u32): void {
  if (cp < 0x800) { bufByte(b, 0xc0 | (cp >> 6)); bufByte(b, 0x80 | (cp & 0x3f)); return; }
  if (cp < 0x10000) { bufByte(b, 0xe0 | (cp >> 12)); bufByte(b, 0x80 | ((cp >> 6) & 0x3f)); bufByte(b, 0x80 | (cp & 0x3f)); return; }
  bufByte(b, 0xf0 | (cp >> 18)); bufByte(b, 0x80 | ((cp >> 12) & 0x3f)); bufByte(b, 0x80 | ((cp >> 6) & 0x3f)); bufByte(b, 0x80 | (cp & 0x3f));
}

function formatArg(b: usize, v: usize, kind: i32, verb: u32): void {
  if (verb == 0x54) { // %T
    const t = bufNew(8);
    bufLit(t, typeNameOf(kind));
    padded(b, bufPtr(t), bufLen(t), false);
    return;
  }
  if (kind == K_INT) {
    const x = load<i64>(v, 8);
    const neg = x < 0;
    const u: u64 = neg ? <u64>(0 - x) : <u64>x;
    if (verb == 0x76 || verb == 0x64 || verb == 0x62 || verb == 0x6f || verb == 0x4f || verb == 0x78 || verb == 0x58) {
      formatInt(b, neg, u, verb == 0x76 ? 0x64 : verb);
      return;
    }
    if (verb == 0x63) { const t = bufNew(4); bufCodePointRaw2(t, <u32>x); padded(b, bufPtr(t), bufLen(t), false); return; }
    if (verb == 0x55) {
      const t = bufNew(12);
      bufLit(t, 'U+');
      const h = bufNew(8);
      let y = u;
      do { bufByte(h, hexDigit(<u32>(y & 15), true)); y >>= 4; } while (y != 0);
      for (let i = bufLen(h); i < 4; i++) bufByte(t, 0x30);
      for (let i = bufLen(h); i > 0; i--) bufByte(t, load<u8>(bufPtr(h) + i - 1));
      padded(b, bufPtr(t), bufLen(t), false);
      return;
    }
    badVerb(b, verb, v, kind);
    return;
  }
  if (kind == K_BIG) {
    if (verb == 0x76 || verb == 0x64 || verb == 0x73) {
      const t = bufNew(32);
      const p = numberTextPtr(v);
      const n = numberTextLen(v);
      const neg = load<u8>(p) == 0x2d;
      signOf(t, neg);
      bufBytes(t, neg ? p + 1 : p, neg ? n - 1 : n);
      padded(b, bufPtr(t), bufLen(t), true);
      return;
    }
    badVerb(b, verb, v, kind);
    return;
  }
  if (kind == K_FLOAT) {
    if (verb == 0x76 || verb == 0x65 || verb == 0x45 || verb == 0x66 || verb == 0x46 || verb == 0x67 || verb == 0x47) {
      formatFloat(b, numberToF64(v), verb);
      return;
    }
    badVerb(b, verb, v, kind);
    return;
  }
  const s = stringOf(v);
  const p = stringPtr(s);
  let n = stringLen(s);
  if (verb == 0x76 || verb == 0x73) {
    if (prec >= 0) {
      let k: usize = 0;
      for (let i = 0; i < prec && k < n; i++) k += stepAt(p + k, n - k);
      n = k;
    }
    padded(b, p, n, false);
    return;
  }
  if (verb == 0x71) {
    const t = bufNew(n + 2);
    quote(t, p, n);
    padded(b, bufPtr(t), bufLen(t), false);
    return;
  }
  if (verb == 0x78 || verb == 0x58) {
    const t = bufNew(n * 2);
    for (let i: usize = 0; i < n; i++) {
      const c = <u32>load<u8>(p + i);
      bufByte(t, hexDigit(c >> 4, verb == 0x58));
      bufByte(t, hexDigit(c & 15, verb == 0x58));
    }
    padded(b, bufPtr(t), bufLen(t), false);
    return;
  }
  badVerb(b, verb, v, kind);
}

function bufCodePointRaw2(b: usize, cp: u32): void {
  if (cp < 0x80) bufByte(b, cp);
  else if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) bufCodePointRaw(b, 0xfffd);
  else bufCodePointRaw(b, cp);
}

export function builtin_sprintf(format: usize, args: usize): usize {
  needString('sprintf', 1, format);
  needArray('sprintf', 2, args);
  const p = stringPtr(format);
  const n = stringLen(format);
  const nargs = arrayLen(args);
  const b = bufNew(n + 16);
  let argi: usize = 0;
  let i: usize = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (c != 0x25) { bufByte(b, c); i++; continue; }
    i++;
    minus = false; plus = false; sharp = false; zero = false; space = false; width = -1; prec = -1;
    while (i < n) {
      const f = <u32>load<u8>(p + i);
      if (f == 0x2d) { minus = true; zero = false; }
      else if (f == 0x2b) plus = true;
      else if (f == 0x23) sharp = true;
      else if (f == 0x30) zero = !minus;
      else if (f == 0x20) space = true;
      else break;
      i++;
    }
    while (i < n && load<u8>(p + i) - 0x30 < 10) { width = (width < 0 ? 0 : width) * 10 + <i32>(load<u8>(p + i) - 0x30); i++; }
    if (i < n && load<u8>(p + i) == 0x2e) {
      i++;
      prec = 0;
      while (i < n && load<u8>(p + i) - 0x30 < 10) { prec = prec * 10 + <i32>(load<u8>(p + i) - 0x30); i++; }
    }
    if (i >= n) { bufLit(b, '%!(NOVERB)'); break; }
    const verb = decodeAt(p + i, n - i);
    i += stepAt(p + i, n - i);
    if (verb == 0x25) { bufByte(b, 0x25); continue; }
    if (argi >= nargs) {
      bufLit(b, '%!');
      bufCodePointOf(b, verb);
      bufLit(b, '(MISSING)');
      continue;
    }
    const v = arrayGet(args, argi++);
    formatArg(b, v, kindOf(v), verb);
  }
  if (argi < nargs) {
    bufLit(b, '%!(EXTRA ');
    for (let k = argi; k < nargs; k++) {
      if (k > argi) bufLit(b, ', ');
      const v = arrayGet(args, k);
      const kind = kindOf(v);
      bufLit(b, typeNameOf(kind));
      bufByte(b, 0x3d);
      minus = false; plus = false; sharp = false; zero = false; space = false; width = -1; prec = -1;
      formatArg(b, v, kind, 0x76);
    }
    bufByte(b, 0x29);
  }
  return bufToString(b);
}

