/**
 * Finds the function references in a function body (`call` and `ref.func`
 * immediates), so that the linker can drop runtime functions a policy never
 * reaches and renumber the rest. Returns null when the body holds an
 * instruction this scanner does not know: the linker then keeps everything.
 */

/** A function index immediate: where it is in the body, its byte length, its value. */
export interface FuncRef {
  at: number;
  len: number;
  func: number;
}

export function scanFuncRefs(body: Uint8Array): FuncRef[] | null {
  let pos = 0;
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = body[pos++];
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) return result >>> 0;
    }
  };
  const refs: FuncRef[] = [];
  const funcImmediate = (): void => {
    const at = pos;
    const func = leb();
    refs.push({ at, len: pos - at, func });
  };
  // Locals: vec of (count, type).
  const groups = leb();
  for (let i = 0; i < groups; i++) {
    leb();
    pos++;
  }
  while (pos < body.length) {
    const op = body[pos++];
    if ((op >= 0x45 && op <= 0xc4) || op === 0x00 || op === 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1) continue;
    switch (op) {
      case 0x02:
      case 0x03:
      case 0x04: {
        const t = body[pos];
        if (t === 0x40 || (t >= 0x7b && t <= 0x7f) || t === 0x70 || t === 0x6f) pos++;
        else leb();
        continue;
      }
      case 0x0c:
      case 0x0d:
      case 0x20:
      case 0x21:
      case 0x22:
      case 0x23:
      case 0x24:
      case 0x25:
      case 0x26:
        leb();
        continue;
      case 0x0e: {
        const n = leb();
        for (let i = 0; i <= n; i++) leb();
        continue;
      }
      case 0x10:
      case 0xd2:
        funcImmediate();
        continue;
      case 0x11:
        leb();
        leb();
        continue;
      case 0x1c: {
        const n = leb();
        pos += n;
        continue;
      }
      case 0x3f:
      case 0x40:
        pos++;
        continue;
      case 0x41:
      case 0x42:
        while (body[pos++] & 0x80);
        continue;
      case 0x43:
        pos += 4;
        continue;
      case 0x44:
        pos += 8;
        continue;
      case 0xd0:
        pos++;
        continue;
      case 0xfc: {
        const sub = leb();
        if (sub <= 7) continue;
        if (sub === 8) { leb(); pos++; continue; }
        if (sub === 9 || sub === 13 || (sub >= 15 && sub <= 17)) { leb(); continue; }
        if (sub === 10) { pos += 2; continue; }
        if (sub === 11) { pos++; continue; }
        if (sub === 12 || sub === 14) { leb(); leb(); continue; }
        return null;
      }
      default:
        if (op >= 0x28 && op <= 0x3e) {
          leb();
          leb();
          continue;
        }
        return null;
    }
  }
  return refs;
}
