/** Encoding of builder expressions and of module sections to wasm bytes. */
import type { Expr, ValType } from './builder.ts';

/**
 * A growing byte buffer. Large byte arrays (the runtime's function bodies)
 * are kept by reference and joined once at the end, so copying the runtime
 * costs little.
 */
export class Bytes {
  private readonly chunks: Uint8Array[] = [];
  private cur: number[] = [];
  private size = 0;

  get length(): number {
    return this.size + this.cur.length;
  }

  /** The bytes written so far, joined. */
  get out(): Uint8Array {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0];
    const all = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.length;
    }
    this.chunks.splice(0, this.chunks.length, all);
    return all;
  }

  private flush(): void {
    if (this.cur.length === 0) return;
    this.chunks.push(Uint8Array.from(this.cur));
    this.size += this.cur.length;
    this.cur = [];
  }

  byte(b: number): this {
    this.cur.push(b & 0xff);
    return this;
  }

  /** Appends another buffer's bytes. */
  append(other: Bytes): this {
    return this.bytes(other.out);
  }

  u32(v: number): this {
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.cur.push(b);
    } while (x !== 0);
    return this;
  }

  i32(v: number): this {
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
        this.cur.push(b);
        return this;
      }
      this.cur.push(b | 0x80);
    }
  }

  bytes(b: ArrayLike<number>): this {
    if (b instanceof Uint8Array && b.length > 64) {
      this.flush();
      this.chunks.push(b);
      this.size += b.length;
      return this;
    }
    for (let i = 0; i < b.length; i++) this.cur.push(b[i]);
    return this;
  }

  /** A length-prefixed byte vector. */
  vec(b: ArrayLike<number>): this {
    return this.u32(b.length).bytes(b);
  }

  name(s: string): this {
    return this.vec(new TextEncoder().encode(s));
  }
}

export function valTypeByte(t: ValType): number {
  return t === 'i64' ? 0x7e : 0x7f;
}

export interface Resolver {
  func(name: string): number;
  global(name: string): number;
  /** Type index of `(i32 × n) -> i32` for call_indirect. */
  indirectType(params: number): number;
}

/** Encodes one expression; `labels` are the enclosing labels, innermost last (null for unnamed). */
export function encodeExpr(e: Expr, b: Bytes, labels: (string | null)[], r: Resolver): void {
  new ExprEncoder(b, labels, r).expr(e);
}

class ExprEncoder {
  constructor(
    readonly b: Bytes,
    private readonly labels: (string | null)[],
    readonly r: Resolver,
  ) {}

  expr(e: Expr): void {
    (ENCODERS[e.op] as (enc: ExprEncoder, e: Expr) => void)(this, e);
  }

  /** Operands, in order. */
  all(es: readonly Expr[]): void {
    for (const e of es) this.expr(e);
  }

  blockType(t: ValType): number {
    return t === 'none' ? 0x40 : valTypeByte(t);
  }

  /** `body` inside a label that branches may name, then `end`. */
  labelled(label: string | null, body: () => void): void {
    this.labels.push(label);
    body();
    this.labels.pop();
    this.b.byte(0x0b);
  }

  /** How many labels out `label` is; `what` names it in the error. */
  depth(label: string, what: string): number {
    const depth = this.labels.length - 1 - this.labels.lastIndexOf(label);
    if (depth >= this.labels.length) throw new Error(`wasm encoder: unknown ${what}${label}`);
    return depth;
  }
}

/** How each instruction encodes: its operands first (stack order), then its opcode and immediates. */
const ENCODERS: { [K in Expr['op']]: (enc: ExprEncoder, e: Extract<Expr, { op: K }>) => void } = {
  block: (enc, e) => {
    enc.b.byte(0x02).byte(enc.blockType(e.type));
    enc.labelled(e.label, () => enc.all(e.children));
  },
  loop: (enc, e) => {
    enc.b.byte(0x03).byte(0x40);
    enc.labelled(e.label, () => enc.expr(e.body));
  },
  br: (enc, e) => {
    const depth = enc.depth(e.label, 'label ');
    if (e.cond) enc.expr(e.cond);
    enc.b.byte(e.cond ? 0x0d : 0x0c).u32(depth);
  },
  if: (enc, e) => {
    enc.expr(e.cond);
    enc.b.byte(0x04).byte(enc.blockType(e.type));
    enc.labelled(null, () => {
      enc.expr(e.then);
      if (!e.else) return;
      enc.b.byte(0x05);
      enc.expr(e.else);
    });
  },
  call: (enc, e) => {
    enc.all(e.args);
    enc.b.byte(0x10).u32(enc.r.func(e.fn));
  },
  call_indirect: (enc, e) => {
    enc.all([...e.args, e.target]);
    enc.b.byte(0x11).u32(enc.r.indirectType(e.args.length)).byte(0);
  },
  'local.get': (enc, e) => void enc.b.byte(0x20).u32(e.index),
  'local.set': (enc, e) => {
    enc.expr(e.value);
    enc.b.byte(0x21).u32(e.index);
  },
  'local.tee': (enc, e) => {
    enc.expr(e.value);
    enc.b.byte(0x22).u32(e.index);
  },
  'global.get': (enc, e) => void enc.b.byte(0x23).u32(enc.r.global(e.name)),
  'global.set': (enc, e) => {
    enc.expr(e.value);
    enc.b.byte(0x24).u32(enc.r.global(e.name));
  },
  'i32.const': (enc, e) => void enc.b.byte(0x41).i32(e.value),
  unary: (enc, e) => {
    enc.expr(e.value);
    enc.b.byte(e.code);
  },
  binary: (enc, e) => {
    enc.all([e.a, e.b]);
    enc.b.byte(e.code);
  },
  load: (enc, e) => {
    enc.expr(e.ptr);
    enc.b.byte(e.code).u32(e.align).u32(e.offset);
  },
  store: (enc, e) => {
    enc.all([e.ptr, e.value]);
    enc.b.byte(0x36).u32(e.align).u32(e.offset);
  },
  select: (enc, e) => {
    enc.all([e.a, e.b, e.cond]);
    enc.b.byte(0x1b);
  },
  return: (enc, e) => {
    if (e.value) enc.expr(e.value);
    enc.b.byte(0x0f);
  },
  nop: (enc) => void enc.b.byte(0x01),
  drop: (enc, e) => {
    enc.expr(e.value);
    enc.b.byte(0x1a);
  },
  'memory.size': (enc) => void enc.b.byte(0x3f).byte(0x00),
  'memory.grow': (enc, e) => {
    enc.expr(e.pages);
    enc.b.byte(0x40).byte(0x00);
  },
  'memory.init': (enc, e) => {
    enc.all([e.dest, e.src, e.len]);
    enc.b.byte(0xfc).u32(8).u32(e.segment).byte(0x00);
  },
  'data.drop': (enc, e) => void enc.b.byte(0xfc).u32(9).u32(e.segment),
  try: (enc, e) => {
    enc.b.byte(0x06).byte(enc.blockType(e.type));
    enc.labelled(e.label, () => {
      enc.expr(e.body);
      enc.b.byte(0x19); // catch_all
      enc.expr(e.handler);
    });
  },
  rethrow: (enc, e) => void enc.b.byte(0x09).u32(enc.depth(e.label, 'try label ')),
};
