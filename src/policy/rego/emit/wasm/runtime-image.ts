/**
 * The compiled runtime (build/runtime.wasm) as sections, read once per
 * process: the emitter appends the policy's functions, globals and data to
 * it without re-encoding the runtime's code.
 */

import { scanFuncRefs, type FuncRef } from './code-scan.ts';

export interface FuncType {
  params: number[];
  results: number[];
}

export interface RuntimeImage {
  bytes: Uint8Array;
  /** Raw contents of each known section by id (custom sections dropped). */
  sections: Map<number, Uint8Array>;
  types: FuncType[];
  /** Imported functions, in index order. */
  importedFuncs: { module: string; name: string; type: number }[];
  /** Type index of each defined function. */
  funcTypes: number[];
  globalCount: number;
  /** Exported functions: name → function index. */
  exports: Map<string, number>;
  /** Active data segments (offset, bytes). */
  segments: { offset: number; data: Uint8Array }[];
  staticEnd: number;
  /** Size of the runtime's function table (0 without one); policy entries follow it. */
  tableSize: number;
  /** The runtime's start function (top-level initialisers), called by the policy's own start. */
  startFunc: number | null;
  /** Each defined function's body (locals and code, without the size prefix). */
  bodies: Uint8Array[];
  /** The function references in each body; null where the scanner could not read it. */
  refs: (FuncRef[] | null)[];
  /** Active element segments of the runtime's table: offset and function indices. */
  elements: { offset: number; funcs: number[] }[];
}

export class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array, readonly end = b.length) {}

  byte(): number {
    return this.b[this.pos++];
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.b[this.pos++];
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  i32(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.b[this.pos++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    if (shift < 32 && byte & 0x40) result |= ~0 << shift;
    return result;
  }

  bytes(n: number): Uint8Array {
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  name(): string {
    return new TextDecoder().decode(this.bytes(this.u32()));
  }

  /** A constant i32 expression (`i32.const n end`). */
  constI32(): number {
    const op = this.byte();
    if (op !== 0x41) throw new Error(`runtime image: unsupported constant expression 0x${op.toString(16)}`);
    const v = this.i32();
    if (this.byte() !== 0x0b) throw new Error('runtime image: bad constant expression');
    return v;
  }
}

export function readRuntimeImage(bytes: Uint8Array): RuntimeImage {
  const r = new Reader(bytes);
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (header.some((b, i) => bytes[i] !== b)) throw new Error('runtime image: not a wasm 1.0 module');
  r.pos = 8;
  const image: RuntimeImage = {
    bytes,
    sections: new Map(),
    types: [],
    importedFuncs: [],
    funcTypes: [],
    globalCount: 0,
    exports: new Map(),
    segments: [],
    staticEnd: 0,
    tableSize: 0,
    startFunc: null,
    bodies: [],
    refs: [],
    elements: [],
  };
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const body = r.bytes(size);
    if (id === 0) continue;
    image.sections.set(id, body);
    readSection(id, new Reader(body), image);
  }
  for (const s of image.segments) image.staticEnd = Math.max(image.staticEnd, s.offset + s.data.length);
  image.staticEnd = (image.staticEnd + 15) & ~15;
  return image;
}

function readSection(id: number, r: Reader, image: RuntimeImage): void {
  SECTION_READERS[id]?.(r, image);
}

/** Reads a vector: its count, then each entry. */
function eachEntry(r: Reader, read: () => void): void {
  const n = r.u32();
  for (let i = 0; i < n; i++) read();
}

function readImport(r: Reader, image: RuntimeImage): void {
  const module = r.name();
  const name = r.name();
  const kind = r.byte();
  if (kind === 0) {
    image.importedFuncs.push({ module, name, type: r.u32() });
    return;
  }
  if (kind !== 2) throw new Error(`runtime image: unsupported import kind ${kind} (${module}.${name})`);
  // The memory's limits: the policy's start function grows memory itself.
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

/** The sections the linker reads, by id; the others are kept as they are. */
const SECTION_READERS: Partial<Record<number, (r: Reader, image: RuntimeImage) => void>> = {
  1: (r, image) =>
    eachEntry(r, () => {
      if (r.byte() !== 0x60) throw new Error('runtime image: unsupported type');
      const params = Array.from(r.bytes(r.u32()));
      const results = Array.from(r.bytes(r.u32()));
      image.types.push({ params, results });
    }),
  2: (r, image) => eachEntry(r, () => readImport(r, image)),
  3: (r, image) => eachEntry(r, () => image.funcTypes.push(r.u32())),
  4: (r, image) => {
    if (r.u32() !== 1 || r.byte() !== 0x70) throw new Error('runtime image: only one funcref table is supported');
    const flags = r.byte();
    image.tableSize = r.u32();
    if (flags & 1 && r.u32() !== image.tableSize) throw new Error('runtime image: a growable table is not supported');
  },
  6: (r, image) => {
    image.globalCount = r.u32();
  },
  7: (r, image) =>
    eachEntry(r, () => {
      const name = r.name();
      const kind = r.byte();
      const index = r.u32();
      if (kind === 0) image.exports.set(name, index);
    }),
  8: (r, image) => {
    image.startFunc = r.u32();
  },
  9: (r, image) =>
    eachEntry(r, () => {
      if (r.u32() !== 0) throw new Error('runtime image: only active element segments of table 0 are supported');
      const offset = r.constI32();
      const count = r.u32();
      const funcs: number[] = [];
      for (let k = 0; k < count; k++) funcs.push(r.u32());
      image.elements.push({ offset, funcs });
    }),
  10: (r, image) =>
    eachEntry(r, () => {
      const body = r.bytes(r.u32());
      image.bodies.push(body);
      image.refs.push(scanFuncRefs(body));
    }),
  11: (r, image) =>
    eachEntry(r, () => {
      const flags = r.u32();
      if (flags !== 0) throw new Error('runtime image: only active data segments of memory 0 are supported');
      const offset = r.constI32();
      const data = r.bytes(r.u32());
      image.segments.push({ offset, data });
    }),
};
