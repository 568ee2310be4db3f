// Go's Time.Format for the same layout elements timeparse.ts reads, and
// the time.format builtin: time.format(ns), time.format([ns, zone]) and
// time.format([ns, zone, layout]); the default layout is RFC3339Nano.

import { TYPE_ARRAY, TYPE_NUMBER, TYPE_STRING, NUM_INT, arrayLen, arrayGet, stringLen, stringPtr } from '../value';
import { numberToF64 } from '../number';
import { typeError } from '../errors';
import { msgBegin, msgStr, msgBytes, msgAbort } from '../abort';
import { bufNew, bufByte, bufLit, bufI64, bufBytes, bufToString, fail } from './util';
import { alloc } from '../memory';
import { civilFromDays, civilYear, civilMonth, civilDay, floorDiv, floorMod, weekdayOfDays, findZone, offsetAt, zoneAbbreviation } from './calendar';
import { namedLayout } from './timeparse';

const MONTHS: StaticArray<string> = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS: StaticArray<string> = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

let lp: usize = 0;
let ln: usize = 0;
let lwide = false;
// @ts-ignore: decorator
@inline function lc(i: usize): u32 { return lwide ? <u32>load<u16>(lp + (i << 1)) : <u32>load<u8>(lp + i); }
function lhas(i: usize, s: string): bool {
  const n = <usize>s.length;
  if (i + n > ln) return false;
  for (let k: usize = 0; k < n; k++) if (lc(i + k) != <u32>load<u16>(changetype<usize>(s) + (k << 1))) return false;
  return true;
}

function pad2(b: usize, v: i64, padChar: u32): void {
  if (v < 10) bufByte(b, padChar);
  bufI64(b, v);
}

function prefix(b: usize, s: string, n: i32): void {
  for (let i = 0; i < n; i++) bufByte(b, <u32>load<u16>(changetype<usize>(s) + (<usize>i << 1)));
}

function offsetText(b: usize, offset: i64, z: bool, colons: bool, minutes: bool, seconds: bool): void {
  if (z && offset == 0) { bufByte(b, 0x5a); return; }
  let o = offset;
  bufByte(b, o < 0 ? 0x2d : 0x2b);
  if (o < 0) o = -o;
  pad2(b, o / 3600, 0x30);
  if (minutes) {
    if (colons) bufByte(b, 0x3a);
    pad2(b, (o / 60) % 60, 0x30);
  }
  if (seconds) {
    if (colons) bufByte(b, 0x3a);
    pad2(b, o % 60, 0x30);
  }
}

/** Formats Unix seconds + nanos at `offset` with a layout (literal or bytes). */
function format(b: usize, secs: i64, nanos: i64, offset: i64): void {
  const local = secs + offset;
  const days = floorDiv(local, 86400);
  const sod = floorMod(local, 86400);
  civilFromDays(days);
  const year = civilYear, month = civilMonth, day = civilDay;
  const hour = sod / 3600, min = (sod / 60) % 60, sec = sod % 60;
  const hour12 = hour % 12 == 0 ? 12 : hour % 12;
  let i: usize = 0;
  while (i < ln) {
    const c = lc(i);
    if (lhas(i, 'January')) { bufLit(b, unchecked(MONTHS[<i32>month - 1])); i += 7; }
    else if (lhas(i, 'Jan')) { prefix(b, unchecked(MONTHS[<i32>month - 1]), 3); i += 3; }
    else if (lhas(i, 'Monday')) { bufLit(b, unchecked(DAYS[<i32>weekdayOfDays(days)])); i += 6; }
    else if (lhas(i, 'Mon')) { prefix(b, unchecked(DAYS[<i32>weekdayOfDays(days)]), 3); i += 3; }
    else if (lhas(i, 'MST')) { bufLit(b, zoneAbbreviation(secs)); i += 3; }
    else if (lhas(i, '2006')) {
      if (year >= 0 && year < 1000) { bufByte(b, 0x30); if (year < 100) bufByte(b, 0x30); if (year < 10) bufByte(b, 0x30); }
      bufI64(b, year);
      i += 4;
    }
    else if (lhas(i, '01')) { pad2(b, month, 0x30); i += 2; }
    else if (lhas(i, '02')) { pad2(b, day, 0x30); i += 2; }
    else if (lhas(i, '03')) { pad2(b, hour12, 0x30); i += 2; }
    else if (lhas(i, '04')) { pad2(b, min, 0x30); i += 2; }
    else if (lhas(i, '05')) { pad2(b, sec, 0x30); i += 2; }
    else if (lhas(i, '06')) { pad2(b, floorMod(year, 100), 0x30); i += 2; }
    else if (lhas(i, '15')) { pad2(b, hour, 0x30); i += 2; }
    else if (lhas(i, '_2')) { pad2(b, day, 0x20); i += 2; }
    else if (c == 0x31) { bufI64(b, month); i++; }
    else if (c == 0x32) { bufI64(b, day); i++; }
    else if (c == 0x33) { bufI64(b, hour12); i++; }
    else if (c == 0x34) { bufI64(b, min); i++; }
    else if (c == 0x35) { bufI64(b, sec); i++; }
    else if (lhas(i, 'PM')) { bufLit(b, hour >= 12 ? 'PM' : 'AM'); i += 2; }
    else if (lhas(i, 'pm')) { bufLit(b, hour >= 12 ? 'pm' : 'am'); i += 2; }
    else if ((c == 0x5a || c == 0x2d) && lhas(i + 1, '07:00:00')) { offsetText(b, offset, c == 0x5a, true, true, true); i += 9; }
    else if ((c == 0x5a || c == 0x2d) && lhas(i + 1, '070000')) { offsetText(b, offset, c == 0x5a, false, true, true); i += 7; }
    else if ((c == 0x5a || c == 0x2d) && lhas(i + 1, '07:00')) { offsetText(b, offset, c == 0x5a, true, true, false); i += 6; }
    else if ((c == 0x5a || c == 0x2d) && lhas(i + 1, '0700')) { offsetText(b, offset, c == 0x5a, false, true, false); i += 5; }
    else if ((c == 0x5a || c == 0x2d) && lhas(i + 1, '07')) { offsetText(b, offset, c == 0x5a, false, false, false); i += 3; }
    else if ((c == 0x2e || c == 0x2c) && i + 1 < ln && (lc(i + 1) == 0x30 || lc(i + 1) == 0x39)) {
      const d = lc(i + 1);
      let k = i + 1;
      while (k < ln && lc(k) == d) k++;
      if (k < ln && lc(k) - 0x30 < 10) { bufByte(b, c); i++; continue; }
      let digits = <i32>(k - i - 1);
      if (digits > 9) digits = 9;
      // The fraction's digits, most significant first; .999 drops trailing zeros.
      const frac = alloc(9);
      for (let q = 0; q < 9; q++) store<u8>(frac + <usize>q, <u8>(0x30 + (nanos / pow10(8 - q)) % 10));
      let n = digits;
      if (d == 0x39) while (n > 0 && load<u8>(frac + <usize>(n - 1)) == 0x30) n--;
      if (n > 0 || d == 0x30) {
        bufByte(b, c);
        bufBytes(b, frac, <usize>n);
      }
      i = k;
    }
    else { bufByte(b, c); i++; }
  }
}

function pow10(e: i32): i64 {
  let r: i64 = 1;
  for (let i = 0; i < e; i++) r *= 10;
  return r;
}

export function builtin_time_format(x: usize): usize {
  const name = 'time.format';
  let nsv = x;
  let zone: usize = 0;
  let layout: usize = 0;
  if (load<u8>(x) == TYPE_ARRAY) {
    const n = arrayLen(x);
    if (n < 2 || n > 3) typeError(name, 1, 'any<number, array<number, string>, array<number, string, string>>', x);
    nsv = arrayGet(x, 0);
    zone = arrayGet(x, 1);
    if (load<u8>(zone) != TYPE_STRING) typeError(name, 1, 'any<number, array<number, string>, array<number, string, string>>', x);
    if (n == 3) {
      layout = arrayGet(x, 2);
      if (load<u8>(layout) != TYPE_STRING) typeError(name, 1, 'any<number, array<number, string>, array<number, string, string>>', x);
    }
  }
  if (load<u8>(nsv) != TYPE_NUMBER) typeError(name, 1, 'any<number, array<number, string>, array<number, string, string>>', x);
  let ns: i64;
  if (load<u8>(nsv, 1) == NUM_INT) ns = load<i64>(nsv, 8);
  else {
    const f = numberToF64(nsv);
    if (!(f >= -9.223372036854775e18 && f <= 9.223372036854775e18)) fail(name, 'timestamp too big');
    ns = <i64>f;
  }
  if (zone != 0 && !findZone(stringPtr(zone), stringLen(zone))) {
    msgBegin();
    msgStr('eval_builtin_error: time.format: unknown time zone ');
    msgBytes(stringPtr(zone), stringLen(zone));
    msgAbort();
  }
  if (zone == 0) findZone(0, 0);
  let named: string | null = '2006-01-02T15:04:05.999999999Z07:00';
  if (layout != 0) named = namedLayout(stringPtr(layout), stringLen(layout));
  if (named !== null) { lp = changetype<usize>(named); ln = <usize>named.length; lwide = true; }
  else { lp = stringPtr(layout); ln = stringLen(layout); lwide = false; }
  const secs = floorDiv(ns, 1000000000);
  const b = bufNew(40);
  format(b, secs, ns - secs * 1000000000, offsetAt(secs));
  return bufToString(b);
}
