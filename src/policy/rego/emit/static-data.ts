/**
 * The policy's constant values (strings of the plan, number literals, null
 * and booleans, JSON blobs), laid out at compile time in the record formats
 * of src/policy/rego/runtime/value.ts and placed in one data segment after
 * the runtime's own static data. Emitted code refers to them by address, so
 * a constant costs nothing at evaluation time.
 */

const TYPE_NULL = 1;
const TYPE_BOOLEAN = 2;
const TYPE_NUMBER = 3;
const TYPE_STRING = 4;
const NUM_INT = 1;
const NUM_REF = 3;
const NUM_BIGINT = 4;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

export class StaticData {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  private readonly strings = new Map<string, number>();
  private readonly numbers = new Map<string, number>();
  readonly nullAddr: number;
  readonly falseAddr: number;
  readonly trueAddr: number;

  constructor(readonly base: number) {
    this.nullAddr = this.record(8, (v) => v.setUint8(0, TYPE_NULL));
    this.falseAddr = this.record(8, (v) => v.setUint8(0, TYPE_BOOLEAN));
    this.trueAddr = this.record(8, (v) => {
      v.setUint8(0, TYPE_BOOLEAN);
      v.setUint8(1, 1);
    });
  }

  /** Reserves `size` bytes aligned to 8 and returns their address. */
  private reserve(size: number): { addr: number; bytes: Uint8Array } {
    const padded = (size + 7) & ~7;
    const bytes = new Uint8Array(padded);
    const addr = this.base + this.size;
    this.chunks.push(bytes);
    this.size += padded;
    return { addr, bytes };
  }

  private record(size: number, fill: (view: DataView) => void): number {
    const { addr, bytes } = this.reserve(size);
    fill(new DataView(bytes.buffer));
    return addr;
  }

  /** Raw bytes; returns their address. */
  bytes(data: Uint8Array): number {
    const { addr, bytes } = this.reserve(Math.max(data.length, 1));
    bytes.set(data);
    return addr;
  }

  /** A string value record. */
  string(s: string): number {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    const utf8 = new TextEncoder().encode(s);
    const at = this.bytes(utf8);
    const addr = this.record(16, (v) => {
      v.setUint8(0, TYPE_STRING);
      v.setUint32(4, utf8.length, true);
      v.setUint32(8, at, true);
    });
    this.strings.set(s, addr);
    return addr;
  }

  /** A number value record from its literal text (as runtime/number.ts parses it). */
  number(text: string): number {
    const known = this.numbers.get(text);
    if (known !== undefined) return known;
    let addr: number;
    if (/^-?(0|[1-9][0-9]*)$/.test(text)) {
      const big = BigInt(text);
      if (big >= I64_MIN && big <= I64_MAX) {
        addr = this.record(24, (v) => {
          v.setUint8(0, TYPE_NUMBER);
          v.setUint8(1, NUM_INT);
          v.setBigInt64(8, big, true);
        });
      } else addr = this.numberText(text, NUM_BIGINT);
    } else addr = this.numberText(text, NUM_REF);
    this.numbers.set(text, addr);
    return addr;
  }

  private numberText(text: string, repr: number): number {
    const utf8 = new TextEncoder().encode(text);
    const at = this.bytes(utf8);
    return this.record(24, (v) => {
      v.setUint8(0, TYPE_NUMBER);
      v.setUint8(1, repr);
      v.setUint32(4, utf8.length, true);
      v.setFloat64(8, Number(text), true);
      v.setUint32(16, at, true);
    });
  }

  /** An array of u32 words (e.g. the key path of a WithStmt). */
  words(values: number[]): number {
    const { addr, bytes } = this.reserve(Math.max(values.length * 4, 4));
    const view = new DataView(bytes.buffer);
    values.forEach((w, i) => view.setUint32(i * 4, w, true));
    return addr;
  }

  /** First address after the static data. */
  get end(): number {
    return this.base + this.size;
  }

  /** The whole segment. */
  segment(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
