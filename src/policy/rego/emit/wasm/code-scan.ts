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

/**
 * The pieces of an instruction's immediates: a LEB128 number, a byte, a
 * fixed number of bytes, a byte vector, a `br_table` label vector, a block
 * type, a function index.
 */
type Part = 'leb' | 'byte' | 'f32' | 'f64' | 'vec' | 'brtable' | 'blocktype' | 'func';

const NONE: readonly Part[] = [];
const LEB: readonly Part[] = ['leb'];
const LEB2: readonly Part[] = ['leb', 'leb'];
const BYTE: readonly Part[] = ['byte'];

/** Opcodes outside the numeric range (0x45–0xc4, no immediates) and the memory range (0x28–0x3e, align and offset). */
const OPCODE_PARTS = new Map<number, readonly Part[]>([
  // unreachable, nop, else, end, return, drop, select, ref.is_null
  ...[0x00, 0x01, 0x05, 0x0b, 0x0f, 0x1a, 0x1b, 0xd1].map((op): [number, readonly Part[]] => [op, NONE]),
  // block, loop, if
  ...[0x02, 0x03, 0x04].map((op): [number, readonly Part[]] => [op, ['blocktype']]),
  // br, br_if, local.get/set/tee, global.get/set, table.get/set
  ...[0x0c, 0x0d, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26].map((op): [number, readonly Part[]] => [op, LEB]),
  [0x0e, ['brtable']],
  // call, ref.func
  [0x10, ['func']],
  [0xd2, ['func']],
  // call_indirect: type and table
  [0x11, LEB2],
  // typed select
  [0x1c, ['vec']],
  // memory.size, memory.grow, ref.null
  [0x3f, BYTE],
  [0x40, BYTE],
  [0xd0, BYTE],
  // i32.const, i64.const (signed LEB128: the same bytes to skip)
  [0x41, LEB],
  [0x42, LEB],
  [0x43, ['f32']],
  [0x44, ['f64']],
]);

/** The 0xfc-prefixed instructions, by sub-opcode: saturating truncations, bulk memory and table ops. */
const PREFIXED_PARTS = new Map<number, readonly Part[]>([
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((sub): [number, readonly Part[]] => [sub, NONE]),
  [8, ['leb', 'byte']],
  [9, LEB],
  [10, ['byte', 'byte']],
  [11, BYTE],
  [12, LEB2],
  [13, LEB],
  [14, LEB2],
  [15, LEB],
  [16, LEB],
  [17, LEB],
]);

export function scanFuncRefs(body: Uint8Array): FuncRef[] | null {
  return new BodyScanner(body).scan();
}

class BodyScanner {
  private pos = 0;
  private readonly refs: FuncRef[] = [];

  constructor(private readonly body: Uint8Array) {}

  scan(): FuncRef[] | null {
    // Locals: vec of (count, type).
    const groups = this.leb();
    for (let i = 0; i < groups; i++) {
      this.leb();
      this.pos++;
    }
    while (this.pos < this.body.length) {
      const parts = this.immediates(this.body[this.pos++]!);
      if (parts === undefined) return null;
      for (const p of parts) this.skip(p);
    }
    return this.refs;
  }

  private leb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.body[this.pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) return result >>> 0;
    }
  }

  /** What follows opcode `op`; undefined for an instruction this scanner does not know. */
  private immediates(op: number): readonly Part[] | undefined {
    if (op >= 0x45 && op <= 0xc4) return NONE;
    if (op >= 0x28 && op <= 0x3e) return LEB2;
    if (op !== 0xfc) return OPCODE_PARTS.get(op);
    return PREFIXED_PARTS.get(this.leb());
  }

  private skip(part: Part): void {
    switch (part) {
      case 'leb':
        this.leb();
        return;
      case 'byte':
        this.pos++;
        return;
      case 'f32':
        this.pos += 4;
        return;
      case 'f64':
        this.pos += 8;
        return;
      case 'vec':
        this.pos += this.leb();
        return;
      case 'brtable':
        // n labels and the default one.
        for (let n = this.leb(); n >= 0; n--) this.leb();
        return;
      case 'blocktype':
        return this.blockType();
      case 'func':
        return this.funcImmediate();
    }
  }

  /** The empty type, a value type (one byte each), or a type index (LEB128). */
  private blockType(): void {
    const t = this.body[this.pos]!;
    if (t === 0x40 || (t >= 0x7b && t <= 0x7f) || t === 0x70 || t === 0x6f) this.pos++;
    else this.leb();
  }

  private funcImmediate(): void {
    const at = this.pos;
    const func = this.leb();
    this.refs.push({ at, len: this.pos - at, func });
  }
}
