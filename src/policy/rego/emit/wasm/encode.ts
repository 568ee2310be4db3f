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
  const blockType = (t: ValType): number => (t === 'none' ? 0x40 : valTypeByte(t));
  switch (e.op) {
    case 'block':
      b.byte(0x02).byte(blockType(e.type));
      labels.push(e.label);
      for (const c of e.children) encodeExpr(c, b, labels, r);
      labels.pop();
      b.byte(0x0b);
      return;
    case 'loop':
      b.byte(0x03).byte(0x40);
      labels.push(e.label);
      encodeExpr(e.body, b, labels, r);
      labels.pop();
      b.byte(0x0b);
      return;
    case 'br': {
      const depth = labels.length - 1 - labels.lastIndexOf(e.label);
      if (depth >= labels.length) throw new Error(`wasm encoder: unknown label ${e.label}`);
      if (e.cond) encodeExpr(e.cond, b, labels, r);
      b.byte(e.cond ? 0x0d : 0x0c).u32(depth);
      return;
    }
    case 'if':
      encodeExpr(e.cond, b, labels, r);
      b.byte(0x04).byte(blockType(e.type));
      labels.push(null);
      encodeExpr(e.then, b, labels, r);
      if (e.else) {
        b.byte(0x05);
        encodeExpr(e.else, b, labels, r);
      }
      labels.pop();
      b.byte(0x0b);
      return;
    case 'call':
      for (const a of e.args) encodeExpr(a, b, labels, r);
      b.byte(0x10).u32(r.func(e.fn));
      return;
    case 'call_indirect':
      for (const a of e.args) encodeExpr(a, b, labels, r);
      encodeExpr(e.target, b, labels, r);
      b.byte(0x11).u32(r.indirectType(e.args.length)).byte(0);
      return;
    case 'local.get':
      b.byte(0x20).u32(e.index);
      return;
    case 'local.set':
      encodeExpr(e.value, b, labels, r);
      b.byte(0x21).u32(e.index);
      return;
    case 'local.tee':
      encodeExpr(e.value, b, labels, r);
      b.byte(0x22).u32(e.index);
      return;
    case 'global.get':
      b.byte(0x23).u32(r.global(e.name));
      return;
    case 'global.set':
      encodeExpr(e.value, b, labels, r);
      b.byte(0x24).u32(r.global(e.name));
      return;
    case 'i32.const':
      b.byte(0x41).i32(e.value);
      return;
    case 'unary':
      encodeExpr(e.value, b, labels, r);
      b.byte(e.code);
      return;
    case 'binary':
      encodeExpr(e.a, b, labels, r);
      encodeExpr(e.b, b, labels, r);
      b.byte(e.code);
      return;
    case 'load':
      encodeExpr(e.ptr, b, labels, r);
      b.byte(e.code).u32(e.align).u32(e.offset);
      return;
    case 'store':
      encodeExpr(e.ptr, b, labels, r);
      encodeExpr(e.value, b, labels, r);
      b.byte(0x36).u32(e.align).u32(e.offset);
      return;
    case 'select':
      encodeExpr(e.a, b, labels, r);
      encodeExpr(e.b, b, labels, r);
      encodeExpr(e.cond, b, labels, r);
      b.byte(0x1b);
      return;
    case 'return':
      if (e.value) encodeExpr(e.value, b, labels, r);
      b.byte(0x0f);
      return;
    case 'nop':
      b.byte(0x01);
      return;
    case 'drop':
      encodeExpr(e.value, b, labels, r);
      b.byte(0x1a);
      return;
    case 'memory.size':
      b.byte(0x3f).byte(0x00);
      return;
    case 'memory.grow':
      encodeExpr(e.pages, b, labels, r);
      b.byte(0x40).byte(0x00);
      return;
    case 'memory.init':
      encodeExpr(e.dest, b, labels, r);
      encodeExpr(e.src, b, labels, r);
      encodeExpr(e.len, b, labels, r);
      b.byte(0xfc).u32(8).u32(e.segment).byte(0x00);
      return;
    case 'data.drop':
      b.byte(0xfc).u32(9).u32(e.segment);
      return;
    case 'try':
      b.byte(0x06).byte(blockType(e.type));
      labels.push(e.label);
      encodeExpr(e.body, b, labels, r);
      b.byte(0x19); // catch_all
      encodeExpr(e.handler, b, labels, r);
      labels.pop();
      b.byte(0x0b);
      return;
    case 'rethrow': {
      const depth = labels.length - 1 - labels.lastIndexOf(e.label);
      if (depth >= labels.length) throw new Error(`wasm encoder: unknown try label ${e.label}`);
      b.byte(0x09).u32(depth);
      return;
    }
  }
}
