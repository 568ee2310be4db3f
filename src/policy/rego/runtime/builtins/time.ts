// Time builtins on nanoseconds since the Unix epoch (i64, as OPA): parsing
// (time.parse_rfc3339_ns, time.parse_ns, time.parse_duration_ns), calendar
// fields (time.date, time.clock, time.weekday), time.add_date and time.diff.
// `time.now_ns` is not here: the host provides it (see
// src/policy/rego/host-builtins.ts).

import {
  TYPE_NUMBER, TYPE_ARRAY, TYPE_STRING, NUM_INT, NUM_BIGINT, makeArray, arrayAppend, arrayLen, arrayGet,
  makeNumberI64, makeStringLiteral, stringLen, stringPtr,
} from '../value';
import { numberToF64 } from '../number';
import { typeError } from '../errors';
import { msgBegin, msgStr, msgBytes, msgAbort } from '../abort';
import { needString, needInt, fail, decodeAt, stepAt } from './util';
import {
  daysFromCivil, civilFromDays, civilYear, civilMonth, civilDay, floorDiv, floorMod, weekdayOfDays, findZone, offsetAt,
} from './calendar';
import { parseTime, namedLayout, parsedSeconds, parsedNanos, parseError } from './timeparse';

const NS: i64 = 1000000000;

/** seconds + nanos as i64 nanoseconds; false if outside i64 (OPA's valid range). */
let resultNs: i64 = 0;
function toNanos(secs: i64, nanos: i64): bool {
  let s = secs;
  let n = nanos;
  if (s < 0 && n > 0) { s += 1; n -= NS; }
  if (s > 9223372036 || s < -9223372036) return false;
  const base = s * NS;
  const r = base + n;
  if ((n > 0 && r < base) || (n < 0 && r > base)) return false;
  resultNs = r;
  return true;
}

function parseFailed(name: string, v: usize): void {
  msgBegin();
  msgStr('eval_builtin_error: ');
  msgStr(name);
  msgStr(': parsing time "');
  msgBytes(stringPtr(v), stringLen(v));
  msgStr('": ');
  msgStr(parseError !== null ? parseError! : 'invalid');
  msgAbort();
}

function finish(name: string): usize {
  if (!toNanos(parsedSeconds, parsedNanos)) fail(name, 'time outside of valid range');
  return makeNumberI64(resultNs);
}

export function builtin_time_parse_rfc3339_ns(v: usize): usize {
  needString('time.parse_rfc3339_ns', 1, v);
  if (!parseTime('2006-01-02T15:04:05Z07:00', 0, 0, stringPtr(v), stringLen(v))) parseFailed('time.parse_rfc3339_ns', v);
  return finish('time.parse_rfc3339_ns');
}

export function builtin_time_parse_ns(layout: usize, v: usize): usize {
  needString('time.parse_ns', 1, layout);
  needString('time.parse_ns', 2, v);
  const named = namedLayout(stringPtr(layout), stringLen(layout));
  const ok = named !== null
    ? parseTime(named, 0, 0, stringPtr(v), stringLen(v))
    : parseTime(null, stringPtr(layout), stringLen(layout), stringPtr(v), stringLen(v));
  if (!ok) parseFailed('time.parse_ns', v);
  return finish('time.parse_ns');
}

/** Go's time.ParseDuration. */
export function builtin_time_parse_duration_ns(v: usize): usize {
  const name = 'time.parse_duration_ns';
  needString(name, 1, v);
  const p = stringPtr(v);
  const n = stringLen(v);
  let i: usize = 0;
  let neg = false;
  if (i < n && (load<u8>(p) == 0x2d || load<u8>(p) == 0x2b)) { neg = load<u8>(p) == 0x2d; i++; }
  if (i == n) fail(name, 'time: invalid duration');
  if (n - i == 1 && load<u8>(p + i) == 0x30) return makeNumberI64(0);
  let total: f64 = 0;
  let exact: i64 = 0;
  let exactOk = true;
  while (i < n) {
    const s = i;
    let whole: i64 = 0;
    while (i < n && load<u8>(p + i) - 0x30 < 10) {
      if (whole > 922337203685477580) exactOk = false;
      whole = whole * 10 + <i64>(load<u8>(p + i) - 0x30);
      i++;
    }
    let frac: f64 = 0;
    let fracInt: i64 = 0;
    let scale: i64 = 1;
    const pre = i - s;
    if (i < n && load<u8>(p + i) == 0x2e) {
      i++;
      let f: f64 = 0.1;
      while (i < n && load<u8>(p + i) - 0x30 < 10) {
        const d = <i64>(load<u8>(p + i) - 0x30);
        frac += <f64>d * f;
        f /= 10;
        if (scale < 1000000000000000) { fracInt = fracInt * 10 + d; scale *= 10; }
        i++;
      }
    }
    if (i - s == 0 || (pre == 0 && i - s == 1)) fail(name, 'time: invalid duration');
    const us = i;
    while (i < n && !(load<u8>(p + i) - 0x30 < 10) && load<u8>(p + i) != 0x2e) i += stepAt(p + i, n - i);
    const unit = unitNanos(p + us, i - us);
    if (unit == 0) fail(name, us == i ? 'time: missing unit in duration' : 'time: unknown unit in duration');
    total += (<f64>whole + frac) * <f64>unit;
    exact += whole * unit + fracInt * unit / scale;
  }
  if (total > 9.223372036854775807e18) fail(name, 'time: invalid duration');
  if (!exactOk) fail(name, 'time: invalid duration');
  return makeNumberI64(neg ? -exact : exact);
}

function unitNanos(p: usize, n: usize): i64 {
  if (n == 2 && load<u8>(p) == 0x6e && load<u8>(p + 1) == 0x73) return 1;
  if (n == 2 && load<u8>(p) == 0x75 && load<u8>(p + 1) == 0x73) return 1000;
  if (n == 3 && load<u8>(p + 2) == 0x73 && (decodeAt(p, n) == 0xb5 || decodeAt(p, n) == 0x3bc)) return 1000;
  if (n == 2 && load<u8>(p) == 0x6d && load<u8>(p + 1) == 0x73) return 1000000;
  if (n == 1 && load<u8>(p) == 0x73) return NS;
  if (n == 1 && load<u8>(p) == 0x6d) return 60 * NS;
  if (n == 1 && load<u8>(p) == 0x68) return 3600 * NS;
  return 0;
}

// ---- calendar fields -------------------------------------------------------

// The instant being taken apart: nanoseconds and the zone offset at it.
let instantNs: i64 = 0;
let localSeconds: i64 = 0;

/** Reads `ns` or `[ns, zone]` into instantNs/localSeconds. */
function readInstant(name: string, x: usize): void {
  let nsv = x;
  let zone: usize = 0;
  if (load<u8>(x) == TYPE_ARRAY) {
    if (arrayLen(x) != 2) typeError(name, 1, 'any<number, array<number, string>>', x);
    nsv = arrayGet(x, 0);
    zone = arrayGet(x, 1);
    if (load<u8>(zone) != TYPE_STRING) typeError(name, 1, 'any<number, array<number, string>>', x);
  }
  if (load<u8>(nsv) != TYPE_NUMBER) typeError(name, 1, 'any<number, array<number, string>>', x);
  const r = load<u8>(nsv, 1);
  if (r == NUM_INT) instantNs = load<i64>(nsv, 8);
  else {
    const f = numberToF64(nsv);
    if (r == NUM_BIGINT || !(f >= -9.223372036854775e18 && f <= 9.223372036854775e18)) fail(name, 'timestamp too big');
    instantNs = <i64>f;
  }
  if (zone != 0 && !findZone(stringPtr(zone), stringLen(zone))) {
    msgBegin();
    msgStr('eval_builtin_error: ');
    msgStr(name);
    msgStr(': unknown time zone ');
    msgBytes(stringPtr(zone), stringLen(zone));
    msgAbort();
  }
  if (zone == 0) findZone(0, 0);
  const secs = floorDiv(instantNs, NS);
  localSeconds = secs + offsetAt(secs);
}

function triple(a: i64, b: i64, c: i64): usize {
  const r = makeArray(3);
  arrayAppend(r, makeNumberI64(a));
  arrayAppend(r, makeNumberI64(b));
  arrayAppend(r, makeNumberI64(c));
  return r;
}

export function builtin_time_date(x: usize): usize {
  readInstant('time.date', x);
  civilFromDays(floorDiv(localSeconds, 86400));
  return triple(civilYear, civilMonth, civilDay);
}

export function builtin_time_clock(x: usize): usize {
  readInstant('time.clock', x);
  const s = floorMod(localSeconds, 86400);
  return triple(s / 3600, (s / 60) % 60, s % 60);
}

const WEEKDAYS: StaticArray<string> = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function builtin_time_weekday(x: usize): usize {
  readInstant('time.weekday', x);
  return makeStringLiteral(unchecked(WEEKDAYS[<i32>weekdayOfDays(floorDiv(localSeconds, 86400))]));
}

/** Go's Time.AddDate in UTC: overflowing months and days are carried. */
export function builtin_time_add_date(x: usize, y: usize, m: usize, d: usize): usize {
  const ns = needInt('time.add_date', 1, x);
  const years = needInt('time.add_date', 2, y);
  const months = needInt('time.add_date', 3, m);
  const days = needInt('time.add_date', 4, d);
  const secs = floorDiv(ns, NS);
  const nanos = ns - secs * NS;
  const dayNo = floorDiv(secs, 86400);
  const sod = secs - dayNo * 86400;
  civilFromDays(dayNo);
  if (years > 1000000 || years < -1000000 || months > 12000000 || months < -12000000 || days > 400000000 || days < -400000000) {
    fail('time.add_date', 'time outside of valid range');
  }
  const nd = daysFromCivil(civilYear + years, civilMonth + months, civilDay + days);
  if (!toNanos(nd * 86400 + sod, nanos)) fail('time.add_date', 'time outside of valid range');
  return makeNumberI64(resultNs);
}

/** time.diff(a, b): [years, months, days, hours, minutes, seconds] between two instants, in a's zone. */
export function builtin_time_diff(a: usize, b: usize): usize {
  readInstant('time.diff', a);
  const zone = load<u8>(a) == TYPE_ARRAY ? arrayGet(a, 1) : 0;
  const ns1 = instantNs;
  readInstant('time.diff', b);
  let ns2 = instantNs;
  // Both are taken apart in a's zone.
  let t1 = ns1;
  if (t1 > ns2) { const t = t1; t1 = ns2; ns2 = t; }
  if (zone != 0) findZone(stringPtr(zone), stringLen(zone)); else findZone(0, 0);
  const s1 = floorDiv(t1, NS);
  const s2 = floorDiv(ns2, NS);
  const l1 = s1 + offsetAt(s1);
  const l2 = s2 + offsetAt(s2);
  civilFromDays(floorDiv(l1, 86400));
  const y1 = civilYear, m1 = civilMonth, d1 = civilDay;
  civilFromDays(floorDiv(l2, 86400));
  let year = civilYear - y1, month = civilMonth - m1, day = civilDay - d1;
  const c1 = floorMod(l1, 86400);
  const c2 = floorMod(l2, 86400);
  let hour = c2 / 3600 - c1 / 3600;
  let min = (c2 / 60) % 60 - (c1 / 60) % 60;
  let sec = c2 % 60 - c1 % 60;
  if (sec < 0) { sec += 60; min--; }
  if (min < 0) { min += 60; hour--; }
  if (hour < 0) { hour += 24; day--; }
  if (day < 0) {
    // Days in y1-m1: the 32nd day of it lands on day (32 - length) of the next month.
    civilFromDays(daysFromCivil(y1, m1, 32));
    day += 32 - civilDay;
    month--;
  }
  if (month < 0) { month += 12; year--; }
  const r = makeArray(6);
  arrayAppend(r, makeNumberI64(year));
  arrayAppend(r, makeNumberI64(month));
  arrayAppend(r, makeNumberI64(day));
  arrayAppend(r, makeNumberI64(hour));
  arrayAppend(r, makeNumberI64(min));
  arrayAppend(r, makeNumberI64(sec));
  return r;
}
