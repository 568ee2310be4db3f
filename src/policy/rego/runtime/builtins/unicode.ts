// Unicode case mapping (Go's unicode.ToLower/ToUpper) for the scripts
// policies meet in practice: ASCII, Latin-1, Latin Extended-A, Latin Extended
// Additional (Vietnamese), Greek (with tonos), Cyrillic (with its
// extensions), Armenian, Georgian and fullwidth Latin. Code points outside
// those ranges are left as they are.

/** True when c is in [lo, hi] and pairs alternate upper (even) / lower (odd) from lo. */
// @ts-ignore: decorator
@inline function pairedUpper(c: u32, lo: u32, hi: u32): bool {
  return c >= lo && c <= hi && ((c - lo) & 1) == 0;
}

// @ts-ignore: decorator
@inline function pairedLower(c: u32, lo: u32, hi: u32): bool {
  return c >= lo && c <= hi && ((c - lo) & 1) == 1;
}

export function lowerCase(c: u32): u32 {
  if (c < 0x80) return c >= 0x41 && c <= 0x5a ? c + 32 : c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
  if (c == 0x130) return 0x69;
  if (c >= 0x100 && c <= 0x137) return c | 1;
  if (c >= 0x139 && c <= 0x148) return (c & 1) == 1 ? c + 1 : c;
  if (c >= 0x14a && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xff;
  if (c >= 0x179 && c <= 0x17e) return (c & 1) == 1 ? c + 1 : c;
  if (c == 0x386) return 0x3ac;
  if (c >= 0x388 && c <= 0x38a) return c + 37;
  if (c == 0x38c) return 0x3cc;
  if (c == 0x38e || c == 0x38f) return c + 63;
  if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (pairedUpper(c, 0x460, 0x481) || pairedUpper(c, 0x48a, 0x4bf) || pairedUpper(c, 0x4d0, 0x52f)) return c + 1;
  if (c >= 0x4c1 && c <= 0x4ce && (c & 1) == 1) return c + 1;
  if (c == 0x4c0) return 0x4cf;
  if (c >= 0x531 && c <= 0x556) return c + 48;
  if (c >= 0x10a0 && c <= 0x10c5) return c + 0x1c60;
  if (c == 0x1e9e) return 0xdf;
  if (pairedUpper(c, 0x1e00, 0x1e95) || pairedUpper(c, 0x1ea0, 0x1eff)) return c + 1;
  if (c >= 0xff21 && c <= 0xff3a) return c + 32;
  return c;
}

export function upperCase(c: u32): u32 {
  if (c < 0x80) return c >= 0x61 && c <= 0x7a ? c - 32 : c;
  if (c >= 0xe0 && c <= 0xfe && c != 0xf7) return c - 32;
  if (c == 0xff) return 0x178;
  if (c == 0xb5) return 0x39c;
  if (c == 0x131) return 0x49;
  if (c == 0x17f) return 0x53;
  if (c == 0x1e9b) return 0x1e60;
  if (c >= 0x100 && c <= 0x137) return c & ~1;
  if (c >= 0x139 && c <= 0x148) return (c & 1) == 0 ? c - 1 : c;
  if (c >= 0x14a && c <= 0x177) return c & ~1;
  if (c >= 0x179 && c <= 0x17e) return (c & 1) == 0 ? c - 1 : c;
  if (c == 0x3ac) return 0x386;
  if (c >= 0x3ad && c <= 0x3af) return c - 37;
  if (c == 0x3cc) return 0x38c;
  if (c == 0x3cd || c == 0x3ce) return c - 63;
  if (c >= 0x3b1 && c <= 0x3cb && c != 0x3c2) return c - 32;
  if (c == 0x3c2) return 0x3a3;
  if (c >= 0x430 && c <= 0x44f) return c - 32;
  if (c >= 0x450 && c <= 0x45f) return c - 80;
  if (pairedLower(c, 0x460, 0x481) || pairedLower(c, 0x48a, 0x4bf) || pairedLower(c, 0x4d0, 0x52f)) return c - 1;
  if (c >= 0x4c2 && c <= 0x4ce && (c & 1) == 0) return c - 1;
  if (c == 0x4cf) return 0x4c0;
  if (c >= 0x561 && c <= 0x586) return c - 48;
  if (c >= 0x2d00 && c <= 0x2d25) return c - 0x1c60;
  if (pairedLower(c, 0x1e00, 0x1e95) || pairedLower(c, 0x1ea0, 0x1eff)) return c - 1;
  if (c >= 0xff41 && c <= 0xff5a) return c - 32;
  return c;
}

/** Go's unicode.IsSpace. */
export function isSpace(c: u32): bool {
  if (c <= 0xff) return c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0;
  return c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}
