// uuid.parse: the fields of an RFC 4122 UUID (version and variant; for the
// time-based versions 1 and 2 also time, clock sequence, node and, for
// version 2, the DCE domain and id). Anything that is not a UUID is
// undefined, as in OPA. Accepted forms: canonical, 32 hex digits, {braces},
// urn:uuid:.

import { TYPE_STRING, makeObject, objectInsert, makeStringLiteral, makeNumberI64, stringLen, stringPtr } from '../value';
import { alloc } from '../memory';
import { bufNew, bufByte, bufToString, bytesEqualLitFold } from './util';

function hexVal(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  if ((c | 0x20) - 0x61 < 6) return <i32>((c | 0x20) - 0x61 + 10);
  return -1;
}

/** Reads the 16 bytes of a UUID into `out`; false if the text is not one. */
function read(p0: usize, n0: usize, out: usize): bool {
  let p = p0;
  let n = n0;
  if (n == 45 && bytesEqualLitFold(p, 9, 'urn:uuid:')) { p += 9; n -= 9; }
  else if (n == 38 && load<u8>(p) == 0x7b && load<u8>(p + 37) == 0x7d) { p += 1; n -= 2; }
  const dashed = n == 36;
  if (!dashed && n != 32) return false;
  let k: usize = 0;
  for (let i: usize = 0; i < n; i++) {
    if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (load<u8>(p + i) != 0x2d) return false;
      continue;
    }
    const hi = hexVal(load<u8>(p + i));
    const lo = i + 1 < n ? hexVal(load<u8>(p + i + 1)) : -1;
    if (hi < 0 || lo < 0) return false;
    store<u8>(out + k++, <u8>((hi << 4) | lo));
    i++;
  }
  return k == 16;
}

function field(o: usize, name: string, v: usize): void {
  objectInsert(o, makeStringLiteral(name), v);
}

export function builtin_uuid_parse(s: usize): usize {
  if (load<u8>(s) != TYPE_STRING) return 0;
  const u = alloc(16);
  if (!read(stringPtr(s), stringLen(s), u)) return 0;
  const version = <i64>(load<u8>(u + 6) >> 4);
  const v8 = <u32>load<u8>(u + 8);
  const o = makeObject();
  field(o, 'version', makeNumberI64(version));
  const variant = (v8 & 0xc0) == 0x80 ? 'RFC4122' : (v8 & 0x80) == 0 ? 'Reserved, NCS backward compatibility'
    : (v8 & 0xe0) == 0xc0 ? 'Reserved, Microsoft Corporation' : 'Reserved, future definition';
  field(o, 'variant', makeStringLiteral(variant));
  if (version != 1 && version != 2) return o;
  // 100-ns intervals since 1582-10-15, as Unix nanoseconds.
  const t = (<i64>bswap<u32>(load<u32>(u)) & 0xffffffff) | (<i64>bswap<u16>(load<u16>(u + 4)) << 32) |
    ((<i64>bswap<u16>(load<u16>(u + 6)) & 0xfff) << 48);
  field(o, 'time', makeNumberI64((t - 0x01b21dd213814000) * 100));
  field(o, 'clocksequence', makeNumberI64(<i64>(((v8 & 0x3f) << 8) | <u32>load<u8>(u + 9))));
  const node = bufNew(17);
  const HEX = '0123456789abcdef';
  for (let i: usize = 10; i < 16; i++) {
    if (i > 10) bufByte(node, 0x2d);
    const c = <u32>load<u8>(u + i);
    bufByte(node, <u32>load<u16>(changetype<usize>(HEX) + ((c >> 4) << 1)));
    bufByte(node, <u32>load<u16>(changetype<usize>(HEX) + ((c & 15) << 1)));
  }
  field(o, 'nodeid', bufToString(node));
  const n0 = <u32>load<u8>(u + 10);
  field(o, 'macvariables', makeStringLiteral((n0 & 2) != 0 ? ((n0 & 1) != 0 ? 'local:multicast' : 'local:unicast') : ((n0 & 1) != 0 ? 'global:multicast' : 'global:unicast')));
  if (version == 2) {
    const d = load<u8>(u + 9);
    field(o, 'domain', makeStringLiteral(d == 0 ? 'Person' : d == 1 ? 'Group' : d == 2 ? 'Org' : 'Unknown'));
    field(o, 'id', makeNumberI64(<i64>bswap<u32>(load<u32>(u)) & 0xffffffff));
  }
  return o;
}
