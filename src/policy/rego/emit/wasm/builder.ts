/**
 * A small expression builder for the instructions the emitter needs, with
 * the shape of binaryen's API (named labels, typed expressions), encoded
 * straight to wasm bytes. Labels are resolved to branch depths at encoding.
 */

export type ValType = 'i32' | 'i64' | 'none';
export const i32: ValType = 'i32';
export const none: ValType = 'none';

export type Expr =
  | { op: 'block'; label: string | null; children: Expr[]; type: ValType }
  | { op: 'loop'; label: string | null; body: Expr }
  | { op: 'br'; label: string; cond?: Expr }
  | { op: 'if'; cond: Expr; then: Expr; else?: Expr; type: ValType }
  | { op: 'call'; fn: string; args: Expr[]; type: ValType }
  | { op: 'call_indirect'; target: Expr; args: Expr[]; type: ValType }
  | { op: 'local.get'; index: number }
  | { op: 'local.set'; index: number; value: Expr }
  | { op: 'local.tee'; index: number; value: Expr }
  | { op: 'global.get'; name: string }
  | { op: 'global.set'; name: string; value: Expr }
  | { op: 'i32.const'; value: number }
  | { op: 'unary'; code: number; value: Expr }
  | { op: 'binary'; code: number; a: Expr; b: Expr }
  | { op: 'load'; code: number; align: number; offset: number; ptr: Expr }
  | { op: 'store'; align: number; offset: number; ptr: Expr; value: Expr }
  | { op: 'select'; cond: Expr; a: Expr; b: Expr }
  | { op: 'return'; value?: Expr }
  | { op: 'nop' }
  | { op: 'drop'; value: Expr }
  | { op: 'memory.size' }
  | { op: 'memory.grow'; pages: Expr }
  | { op: 'memory.init'; segment: number; dest: Expr; src: Expr; len: Expr }
  | { op: 'data.drop'; segment: number }
  /** Exception handling (legacy encoding, on by default in Node ≥ 17): `try body catch_all handler end`. */
  | { op: 'try'; label: string; body: Expr; handler: Expr; type: ValType }
  | { op: 'rethrow'; label: string };

/** Instructions that carry their result type. */
const TYPED_OPS = new Set<Expr['op']>(['block', 'if', 'call', 'call_indirect', 'try']);
/** Instructions whose result is always an i32. */
const I32_OPS = new Set<Expr['op']>([
  'local.get', 'local.tee', 'global.get', 'i32.const', 'unary', 'binary', 'load', 'select', 'memory.size', 'memory.grow',
]);

export function typeOf(e: Expr): ValType {
  if (TYPED_OPS.has(e.op)) return (e as Extract<Expr, { type: ValType }>).type;
  return I32_OPS.has(e.op) ? 'i32' : 'none';
}

const bin = (code: number) => (a: Expr, b: Expr): Expr => ({ op: 'binary', code, a, b });

/** The instruction constructors (a subset of binaryen.Module's). */
export const w = {
  block(label: string | null, children: Expr[], type?: ValType): Expr {
    return { op: 'block', label, children, type: type ?? 'none' };
  },
  loop(label: string | null, body: Expr): Expr {
    return { op: 'loop', label, body };
  },
  br(label: string, cond?: Expr): Expr {
    return { op: 'br', label, cond };
  },
  if(cond: Expr, then: Expr, otherwise?: Expr): Expr {
    const type = otherwise && (typeOf(then) === 'i32' || typeOf(otherwise) === 'i32') ? 'i32' : 'none';
    return { op: 'if', cond, then, else: otherwise, type };
  },
  call(fn: string, args: Expr[], type: ValType): Expr {
    return { op: 'call', fn, args, type };
  },
  callIndirect(target: Expr, args: Expr[], type: ValType): Expr {
    return { op: 'call_indirect', target, args, type };
  },
  localGet(index: number): Expr {
    return { op: 'local.get', index };
  },
  localSet(index: number, value: Expr): Expr {
    return { op: 'local.set', index, value };
  },
  localTee(index: number, value: Expr): Expr {
    return { op: 'local.tee', index, value };
  },
  globalGet(name: string): Expr {
    return { op: 'global.get', name };
  },
  globalSet(name: string, value: Expr): Expr {
    return { op: 'global.set', name, value };
  },
  /** `body`, or `handler` when anything `body` calls throws (wasm or JavaScript exceptions alike). */
  tryCatchAll(label: string, body: Expr, handler: Expr, type: ValType): Expr {
    return { op: 'try', label, body, handler, type };
  },
  /** Inside the handler of the try labelled `label`: throws the caught exception again. */
  rethrow(label: string): Expr {
    return { op: 'rethrow', label };
  },
  const(value: number): Expr {
    return { op: 'i32.const', value };
  },
  eqz(value: Expr): Expr {
    return { op: 'unary', code: 0x45, value };
  },
  eq: bin(0x46),
  ne: bin(0x47),
  ltS: bin(0x48),
  geS: bin(0x4e),
  add: bin(0x6a),
  sub: bin(0x6b),
  and: bin(0x71),
  or: bin(0x72),
  load8u(ptr: Expr, offset = 0): Expr {
    return { op: 'load', code: 0x2d, align: 0, offset, ptr };
  },
  load(ptr: Expr, offset = 0): Expr {
    return { op: 'load', code: 0x28, align: 2, offset, ptr };
  },
  store(ptr: Expr, value: Expr, offset = 0): Expr {
    return { op: 'store', align: 2, offset, ptr, value };
  },
  /** `cond ? a : b` (both evaluated). */
  select(cond: Expr, a: Expr, b: Expr): Expr {
    return { op: 'select', cond, a, b };
  },
  return(value?: Expr): Expr {
    return { op: 'return', value };
  },
  nop(): Expr {
    return { op: 'nop' };
  },
  drop(value: Expr): Expr {
    return { op: 'drop', value };
  },
  memorySize(): Expr {
    return { op: 'memory.size' };
  },
  memoryGrow(pages: Expr): Expr {
    return { op: 'memory.grow', pages };
  },
  memoryInit(segment: number, dest: Expr, src: Expr, len: Expr): Expr {
    return { op: 'memory.init', segment, dest, src, len };
  },
  dataDrop(segment: number): Expr {
    return { op: 'data.drop', segment };
  },
};
