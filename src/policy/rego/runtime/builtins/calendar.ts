// Proleptic Gregorian calendar arithmetic on Unix seconds, and the time
// zones the time builtins accept: UTC (also "", "Local", "UTC", "GMT",
// "Etc/UTC"), fixed-offset zones and common zones with US or EU daylight
// saving rules (current rules, applied to every year). Other IANA names are
// refused with an error rather than silently evaluated as UTC.

import { bytesEqualLit } from './util';

/** Days since 1970-01-01 of a civil date (any month/day overflow is carried). */
export function daysFromCivil(y0: i64, m0: i64, d: i64): i64 {
  // Normalise the month into 1..12 first.
  let y = y0 + floorDiv(m0 - 1, 12);
  const m = floorMod(m0 - 1, 12) + 1;
  y -= m <= 2 ? 1 : 0;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = (153 * mp + 2) / 5;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468 + (d - 1);
}

// Results of civilFromDays.
export let civilYear: i64 = 0;
export let civilMonth: i64 = 0;
export let civilDay: i64 = 0;

export function civilFromDays(z0: i64): void {
  const z = z0 + 719468;
  const era = floorDiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  civilDay = doy - (153 * mp + 2) / 5 + 1;
  civilMonth = mp < 10 ? mp + 3 : mp - 9;
  civilYear = yoe + era * 400 + (civilMonth <= 2 ? 1 : 0);
}

export function floorDiv(a: i64, b: i64): i64 {
  const q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

export function floorMod(a: i64, b: i64): i64 {
  return a - floorDiv(a, b) * b;
}

export function isLeap(y: i64): bool {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

export function daysIn(y: i64, m: i64): i64 {
  if (m == 2) return isLeap(y) ? 29 : 28;
  return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOfDays(days: i64): i64 {
  return floorMod(days + 4, 7);
}

// ---- zones ---------------------------------------------------------------

const RULE_NONE: i32 = 0;
const RULE_US: i32 = 1;
const RULE_EU: i32 = 2;

// Zone found by findZone: standard offset (seconds) and DST rule.
let zoneOffset: i64 = 0;
let zoneRule: i32 = 0;

function z(p: usize, n: usize, name: string, offset: i64, rule: i32): bool {
  if (!bytesEqualLit(p, n, name)) return false;
  zoneOffset = offset;
  zoneRule = rule;
  return true;
}

/** Looks up a zone name; false when unknown. */
export function findZone(p: usize, n: usize): bool {
  zoneOffset = 0;
  zoneRule = RULE_NONE;
  if (n == 0 || z(p, n, 'UTC', 0, 0) || z(p, n, 'Local', 0, 0) || z(p, n, 'GMT', 0, 0) || z(p, n, 'Etc/UTC', 0, 0)) return true;
  const H: i64 = 3600;
  return z(p, n, 'America/New_York', -5 * H, RULE_US) || z(p, n, 'America/Chicago', -6 * H, RULE_US) ||
    z(p, n, 'America/Denver', -7 * H, RULE_US) || z(p, n, 'America/Los_Angeles', -8 * H, RULE_US) ||
    z(p, n, 'America/Anchorage', -9 * H, RULE_US) || z(p, n, 'America/Toronto', -5 * H, RULE_US) ||
    z(p, n, 'America/Vancouver', -8 * H, RULE_US) || z(p, n, 'America/Phoenix', -7 * H, 0) ||
    z(p, n, 'Pacific/Honolulu', -10 * H, 0) || z(p, n, 'America/Sao_Paulo', -3 * H, 0) ||
    z(p, n, 'Europe/London', 0, RULE_EU) || z(p, n, 'Europe/Dublin', 0, RULE_EU) || z(p, n, 'Europe/Lisbon', 0, RULE_EU) ||
    z(p, n, 'Europe/Paris', H, RULE_EU) || z(p, n, 'Europe/Berlin', H, RULE_EU) || z(p, n, 'Europe/Madrid', H, RULE_EU) ||
    z(p, n, 'Europe/Rome', H, RULE_EU) || z(p, n, 'Europe/Amsterdam', H, RULE_EU) || z(p, n, 'Europe/Brussels', H, RULE_EU) ||
    z(p, n, 'Europe/Vienna', H, RULE_EU) || z(p, n, 'Europe/Zurich', H, RULE_EU) || z(p, n, 'Europe/Stockholm', H, RULE_EU) ||
    z(p, n, 'Europe/Oslo', H, RULE_EU) || z(p, n, 'Europe/Copenhagen', H, RULE_EU) || z(p, n, 'Europe/Warsaw', H, RULE_EU) ||
    z(p, n, 'Europe/Prague', H, RULE_EU) || z(p, n, 'Europe/Budapest', H, RULE_EU) ||
    z(p, n, 'Europe/Athens', 2 * H, RULE_EU) || z(p, n, 'Europe/Helsinki', 2 * H, RULE_EU) ||
    z(p, n, 'Europe/Kyiv', 2 * H, RULE_EU) || z(p, n, 'Europe/Kiev', 2 * H, RULE_EU) ||
    z(p, n, 'Europe/Moscow', 3 * H, 0) || z(p, n, 'Europe/Istanbul', 3 * H, 0) ||
    z(p, n, 'Asia/Dubai', 4 * H, 0) || z(p, n, 'Asia/Kolkata', 5 * H + 1800, 0) || z(p, n, 'Asia/Calcutta', 5 * H + 1800, 0) ||
    z(p, n, 'Asia/Bangkok', 7 * H, 0) || z(p, n, 'Asia/Jakarta', 7 * H, 0) ||
    z(p, n, 'Asia/Shanghai', 8 * H, 0) || z(p, n, 'Asia/Hong_Kong', 8 * H, 0) || z(p, n, 'Asia/Singapore', 8 * H, 0) ||
    z(p, n, 'Asia/Taipei', 8 * H, 0) || z(p, n, 'Asia/Tokyo', 9 * H, 0) || z(p, n, 'Asia/Seoul', 9 * H, 0) ||
    z(p, n, 'Australia/Brisbane', 10 * H, 0) || z(p, n, 'Africa/Johannesburg', 2 * H, 0) || z(p, n, 'Africa/Lagos', H, 0) ||
    z(p, n, 'Africa/Cairo', 2 * H, 0) || z(p, n, 'Africa/Nairobi', 3 * H, 0);
}

/** Unix seconds of the n-th (1-based; 0 = last) Sunday of a month at `secOfDay` UTC. */
function sunday(y: i64, m: i64, nth: i64, secOfDay: i64): i64 {
  let day: i64;
  if (nth == 0) {
    const last = daysFromCivil(y, m, daysIn(y, m));
    day = last - weekdayOfDays(last);
  } else {
    const first = daysFromCivil(y, m, 1);
    day = first + floorMod(7 - weekdayOfDays(first), 7) + (nth - 1) * 7;
  }
  return day * 86400 + secOfDay;
}

/** The UTC offset (seconds) of the zone found last, at Unix second `t`. */
export function offsetAt(t: i64): i64 {
  if (zoneRule == RULE_NONE) return zoneOffset;
  civilFromDays(floorDiv(t + zoneOffset, 86400));
  const y = civilYear;
  let start: i64;
  let end: i64;
  if (zoneRule == RULE_US) {
    // Second Sunday of March 02:00 standard time to first Sunday of November 02:00 daylight time.
    start = sunday(y, 3, 2, 7200 - zoneOffset);
    end = sunday(y, 11, 1, 3600 - zoneOffset);
  } else {
    // Last Sunday of March to last Sunday of October, 01:00 UTC.
    start = sunday(y, 3, 0, 3600);
    end = sunday(y, 10, 0, 3600);
  }
  return t >= start && t < end ? zoneOffset + 3600 : zoneOffset;
}

/**
 * The abbreviation of the zone found last at Unix second `t`: UTC, the
 * US and European names, else the numeric form Go prints ("+08", "+0530").
 */
export function zoneAbbreviation(t: i64): string {
  const off = offsetAt(t);
  const dst = off != zoneOffset;
  if (zoneRule == RULE_NONE && zoneOffset == 0) return 'UTC';
  if (zoneRule == RULE_US) {
    const h = zoneOffset / 3600;
    if (h == -5) return dst ? 'EDT' : 'EST';
    if (h == -6) return dst ? 'CDT' : 'CST';
    if (h == -7) return dst ? 'MDT' : 'MST';
    if (h == -8) return dst ? 'PDT' : 'PST';
    if (h == -9) return dst ? 'AKDT' : 'AKST';
  }
  if (zoneRule == RULE_EU) {
    if (zoneOffset == 0) return dst ? 'BST' : 'GMT';
    if (zoneOffset == 3600) return dst ? 'CEST' : 'CET';
    if (zoneOffset == 7200) return dst ? 'EEST' : 'EET';
  }
  return numericZone(off);
}

const NUMERIC_ZONES: StaticArray<string> = [
  '-12', '-11', '-10', '-09', '-08', '-07', '-06', '-05', '-04', '-03', '-02', '-01', '+00',
  '+01', '+02', '+03', '+04', '+05', '+06', '+07', '+08', '+09', '+10', '+11', '+12', '+13', '+14',
];

function numericZone(off: i64): string {
  if (off == 19800) return '+0530';
  if (off % 3600 != 0 || off < -43200 || off > 50400) return '+00';
  return unchecked(NUMERIC_ZONES[<i32>(off / 3600) + 12]);
}
