// Go's time.Parse for the layouts policies use: reference-time elements
// (2006 06 01 1 Jan January 02 2 _2 15 03 3 04 4 05 5 PM pm Mon Monday MST,
// zone offsets Z07:00 -07:00 -0700 -07 and their Z forms, fractional seconds
// .000 / .999), Go's named layouts (RFC3339, RFC822Z, …), and a fraction
// after the seconds even when the layout has none, as Go accepts.

import { daysFromCivil, daysIn } from './calendar';
import { bytesEqualLit } from './util';

const MONTHS = 'JanuaryFebruaryMarchAprilMayJuneJulyAugustSeptemberOctoberNovemberDecember';
const MONTH_LEN: StaticArray<i32> = [7, 8, 5, 5, 3, 4, 4, 6, 9, 7, 8, 8];
const DAYS = 'SundayMondayTuesdayWednesdayThursdayFridaySaturday';
const DAY_LEN: StaticArray<i32> = [6, 6, 7, 9, 8, 6, 8];

/** Go's name of a layout constant, or null. */
export function namedLayout(p: usize, n: usize): string | null {
  if (bytesEqualLit(p, n, 'ANSIC')) return 'Mon Jan _2 15:04:05 2006';
  if (bytesEqualLit(p, n, 'UnixDate')) return 'Mon Jan _2 15:04:05 MST 2006';
  if (bytesEqualLit(p, n, 'RubyDate')) return 'Mon Jan 02 15:04:05 -0700 2006';
  if (bytesEqualLit(p, n, 'RFC822')) return '02 Jan 06 15:04 MST';
  if (bytesEqualLit(p, n, 'RFC822Z')) return '02 Jan 06 15:04 -0700';
  if (bytesEqualLit(p, n, 'RFC850')) return 'Monday, 02-Jan-06 15:04:05 MST';
  if (bytesEqualLit(p, n, 'RFC1123')) return 'Mon, 02 Jan 2006 15:04:05 MST';
  if (bytesEqualLit(p, n, 'RFC1123Z')) return 'Mon, 02 Jan 2006 15:04:05 -0700';
  if (bytesEqualLit(p, n, 'RFC3339')) return '2006-01-02T15:04:05Z07:00';
  if (bytesEqualLit(p, n, 'RFC3339Nano')) return '2006-01-02T15:04:05.999999999Z07:00';
  if (bytesEqualLit(p, n, 'Kitchen')) return '3:04PM';
  if (bytesEqualLit(p, n, 'Stamp')) return 'Jan _2 15:04:05';
  if (bytesEqualLit(p, n, 'StampMilli')) return 'Jan _2 15:04:05.000';
  if (bytesEqualLit(p, n, 'StampMicro')) return 'Jan _2 15:04:05.000000';
  if (bytesEqualLit(p, n, 'StampNano')) return 'Jan _2 15:04:05.000000000';
  if (bytesEqualLit(p, n, 'DateTime')) return '2006-01-02 15:04:05';
  if (bytesEqualLit(p, n, 'DateOnly')) return '2006-01-02';
  if (bytesEqualLit(p, n, 'TimeOnly')) return '15:04:05';
  return null;
}

// Results of parseTime: Unix seconds and nanoseconds, or an error message.
export let parsedSeconds: i64 = 0;
export let parsedNanos: i64 = 0;
export let parseError: string | null = null;

// The layout is read from a UTF-16 literal or from UTF-8 bytes.
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

// The value being parsed.
let vp: usize = 0;
let vn: usize = 0;
let vi: usize = 0;

function isDigit(c: u32): bool { return c - 0x30 < 10; }

/** Reads 1..max digits (exactly `max` when `fixed`); -1 if none. */
function num(max: usize, fixed: bool): i64 {
  let v: i64 = 0;
  let k: usize = 0;
  while (k < max && vi < vn && isDigit(load<u8>(vp + vi))) { v = v * 10 + <i64>(load<u8>(vp + vi) - 0x30); vi++; k++; }
  if (k == 0 || (fixed && k != max)) return -1;
  return v;
}

/** Matches one of the names in `names` (lengths in `lens`), ASCII case-insensitively; index or -1. */
function lookup(names: string, lens: StaticArray<i32>, short: bool): i32 {
  let off: usize = 0;
  for (let i = 0; i < lens.length; i++) {
    const len = <usize>(short ? 3 : unchecked(lens[i]));
    if (vi + len <= vn) {
      let ok = true;
      for (let k: usize = 0; k < len && ok; k++) {
        const a = <u32>load<u16>(changetype<usize>(names) + ((off + k) << 1)) | 0x20;
        const b = <u32>load<u8>(vp + vi + k) | 0x20;
        ok = a == b;
      }
      if (ok) { vi += len; return i; }
    }
    off += <usize>unchecked(lens[i]);
  }
  return -1;
}

function fail(msg: string): bool {
  parseError = msg;
  return false;
}

/** Parses a fraction ".ddd" at vi into nanoseconds; `digits` 0 = any number. */
function fraction(digits: usize): i64 {
  vi++; // the '.' or ','
  let ns: i64 = 0;
  let k: usize = 0;
  while (vi < vn && isDigit(load<u8>(vp + vi)) && (digits == 0 || k < digits)) {
    if (k < 9) ns = ns * 10 + <i64>(load<u8>(vp + vi) - 0x30);
    vi++;
    k++;
  }
  if (k == 0 || (digits != 0 && k != digits)) return -1;
  for (let j = k; j < 9; j++) ns *= 10;
  return ns;
}

/**
 * Parses value [p, p+n) with a layout given as a literal (`layoutLit`) or
 * as bytes [layout, layout+layoutLen). Sets parsedSeconds/parsedNanos, or
 * parseError and returns false.
 */
export function parseTime(layoutLit: string | null, layout: usize, layoutLen: usize, p: usize, n: usize): bool {
  if (layoutLit !== null) { lp = changetype<usize>(layoutLit); ln = <usize>layoutLit.length; lwide = true; }
  else { lp = layout; ln = layoutLen; lwide = false; }
  vp = p; vn = n; vi = 0;
  parseError = null;
  let year: i64 = 0, month: i64 = 1, day: i64 = 1, hour: i64 = 0, min: i64 = 0, sec: i64 = 0, nanos: i64 = 0;
  let pm = false, hasAmPm = false, offset: i64 = 0, hour12 = false;
  let i: usize = 0;
  while (i < ln) {
    const c = lc(i);
    let v: i64 = 0;
    let seconds = false;
    if (lhas(i, 'January')) { v = lookup(MONTHS, MONTH_LEN, false); if (v < 0) return fail('bad month'); month = v + 1; i += 7; }
    else if (lhas(i, 'Jan')) { v = lookup(MONTHS, MONTH_LEN, true); if (v < 0) return fail('bad month'); month = v + 1; i += 3; }
    else if (lhas(i, 'Monday')) { if (lookup(DAYS, DAY_LEN, false) < 0) return fail('bad day'); i += 6; }
    else if (lhas(i, 'Mon')) { if (lookup(DAYS, DAY_LEN, true) < 0) return fail('bad day'); i += 3; }
    else if (lhas(i, 'MST')) {
      // A zone abbreviation: letters; UTC/GMT are offset 0, others are taken as 0 too (as Go does for unknown ones).
      const s = vi;
      while (vi < vn && (load<u8>(vp + vi) | 0x20) - 0x61 < 26) vi++;
      if (vi - s < 3) return fail('bad time zone');
      i += 3;
    }
    else if (lhas(i, '2006')) { v = num(4, true); if (v < 0) return fail('bad year'); year = v; i += 4; }
    else if (lhas(i, '01')) { v = num(2, true); if (v < 1 || v > 12) return fail('month out of range'); month = v; i += 2; }
    else if (lhas(i, '02')) { v = num(2, true); if (v < 1) return fail('day out of range'); day = v; i += 2; }
    else if (lhas(i, '03')) { v = num(2, true); if (v < 0 || v > 12) return fail('hour out of range'); hour = v; hour12 = true; i += 2; }
    else if (lhas(i, '04')) { v = num(2, true); if (v < 0 || v > 59) return fail('minute out of range'); min = v; i += 2; }
    else if (lhas(i, '05')) { v = num(2, true); if (v < 0 || v > 59) return fail('second out of range'); sec = v; seconds = true; i += 2; }
    else if (lhas(i, '06')) { v = num(2, true); if (v < 0) return fail('bad year'); year = v >= 69 ? 1900 + v : 2000 + v; i += 2; }
    else if (lhas(i, '15')) { v = num(2, false); if (v < 0 || v > 23) return fail('hour out of range'); hour = v; i += 2; }
    else if (lhas(i, '_2')) { if (vi < vn && load<u8>(vp + vi) == 0x20) vi++; v = num(2, false); if (v < 1) return fail('day out of range'); day = v; i += 2; }
    else if (c == 0x31) { v = num(2, false); if (v < 1 || v > 12) return fail('month out of range'); month = v; i++; }
    else if (c == 0x32) { v = num(2, false); if (v < 1) return fail('day out of range'); day = v; i++; }
    else if (c == 0x33) { v = num(2, false); if (v < 0 || v > 12) return fail('hour out of range'); hour = v; hour12 = true; i++; }
    else if (c == 0x34) { v = num(2, false); if (v < 0 || v > 59) return fail('minute out of range'); min = v; i++; }
    else if (c == 0x35) { v = num(2, false); if (v < 0 || v > 59) return fail('second out of range'); sec = v; seconds = true; i++; }
    else if (lhas(i, 'PM') || lhas(i, 'pm')) {
      if (vi + 2 > vn) return fail('bad AM/PM');
      const a = <u32>load<u8>(vp + vi) | 0x20;
      if ((<u32>load<u8>(vp + vi + 1) | 0x20) != 0x6d || (a != 0x61 && a != 0x70)) return fail('bad AM/PM');
      pm = a == 0x70;
      hasAmPm = true;
      vi += 2;
      i += 2;
    }
    else if (c == 0x5a || c == 0x2d) {
      // Zone offsets: Z07:00:00 Z070000 Z07:00 Z0700 Z07 and the same with '-'.
      const z = c == 0x5a;
      let len: usize = 0;
      let colons = false;
      let withSeconds = false;
      if (lhas(i + 1, '07:00:00')) { len = 9; colons = true; withSeconds = true; }
      else if (lhas(i + 1, '070000')) { len = 7; withSeconds = true; }
      else if (lhas(i + 1, '07:00')) { len = 6; colons = true; }
      else if (lhas(i + 1, '0700')) len = 5;
      else if (lhas(i + 1, '07')) len = 3;
      if (len == 0) {
        if (vi >= vn || load<u8>(vp + vi) != <u8>c) return fail('literal mismatch');
        vi++;
        i++;
        continue;
      }
      i += len;
      if (z && vi < vn && load<u8>(vp + vi) == 0x5a) { vi++; offset = 0; continue; }
      if (vi >= vn || (load<u8>(vp + vi) != 0x2b && load<u8>(vp + vi) != 0x2d)) return fail('bad zone offset');
      const sign: i64 = load<u8>(vp + vi) == 0x2d ? -1 : 1;
      vi++;
      const hh = num(2, true);
      if (hh < 0) return fail('bad zone offset');
      let mm: i64 = 0;
      let ss: i64 = 0;
      if (len > 3) {
        if (colons) { if (vi >= vn || load<u8>(vp + vi) != 0x3a) return fail('bad zone offset'); vi++; }
        mm = num(2, true);
        if (mm < 0) return fail('bad zone offset');
        if (withSeconds) {
          if (colons) { if (vi >= vn || load<u8>(vp + vi) != 0x3a) return fail('bad zone offset'); vi++; }
          ss = num(2, true);
          if (ss < 0) return fail('bad zone offset');
        }
      }
      offset = sign * (hh * 3600 + mm * 60 + ss);
    }
    else if ((c == 0x2e || c == 0x2c) && i + 1 < ln && (lc(i + 1) == 0x30 || lc(i + 1) == 0x39)) {
      // .000 (exact digits) or .999 (optional, any digits)
      const d = lc(i + 1);
      let k = i + 1;
      while (k < ln && lc(k) == d) k++;
      if (k < ln && isDigit(lc(k))) {
        if (vi >= vn || <u32>load<u8>(vp + vi) != c) return fail('literal mismatch');
        vi++;
        i++;
        continue;
      }
      const digits = k - i - 1;
      if (vi < vn && (load<u8>(vp + vi) == 0x2e || load<u8>(vp + vi) == 0x2c)) {
        nanos = fraction(d == 0x30 ? digits : 0);
        if (nanos < 0) return fail('bad fractional second');
      } else if (d == 0x30) return fail('bad fractional second');
      i = k;
    }
    else {
      if (vi >= vn || <u32>load<u8>(vp + vi) != c) return fail('literal mismatch');
      vi++;
      i++;
    }
    // Go accepts a fraction right after the seconds even when the layout has none.
    if (seconds && vi < vn && (load<u8>(vp + vi) == 0x2e || load<u8>(vp + vi) == 0x2c) &&
      vi + 1 < vn && isDigit(load<u8>(vp + vi + 1)) && !(i < ln && (lc(i) == 0x2e || lc(i) == 0x2c))) {
      nanos = fraction(0);
    }
  }
  if (vi != vn) return fail('extra text');
  if (hour12 || hasAmPm) {
    if (hasAmPm && pm && hour < 12) hour += 12;
    else if (hasAmPm && !pm && hour == 12) hour = 0;
  }
  if (day > daysIn(year, month)) return fail('day out of range');
  parsedSeconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
  parsedNanos = nanos;
  return true;
}
