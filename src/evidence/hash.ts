/**
 * The hashes evidence is made of (design.md §4). Every hash is written as
 * `sha256:<64 lower-case hex>` so that a reader never has to guess the
 * algorithm, and so the same string can be compared across the ledger, spans,
 * logs and approval objects.
 */
import * as crypto from 'node:crypto';
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { MAX_INPUT_DEPTH, canonicalJson } from './canonical.ts';

export const HASH_PREFIX = 'sha256:';
/** The `prev` of the first entry of a ledger. */
export const GENESIS_HASH = HASH_PREFIX + '0'.repeat(64);

/** One-shot hashing (Node ≥ 20.12) skips the Hash object: it is on the path of every decision. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

/** `sha256:<hex>` of a string (UTF-8) or bytes. */
export function sha256(data: string | Uint8Array): string {
  if (oneShot) return HASH_PREFIX + oneShot('sha256', data, 'hex');
  return HASH_PREFIX + createHash('sha256').update(data).digest('hex');
}

/** True when `value` has the `sha256:<64 hex>` form. */
export function isSha256(value: unknown): value is string {
  return typeof value === 'string' && value.length === 71 && /^sha256:[0-9a-f]{64}$/.test(value);
}

/** A policy input in its canonical form, with the hash that names it. */
export interface CanonicalInput {
  /** RFC 8785 canonical JSON text. */
  canonical: string;
  /** `sha256:` of `canonical`. */
  hash: string;
}

/** Canonicalises once and hashes, so callers that also record the input do not pay twice. */
export function canonicalInput(input: unknown): CanonicalInput {
  // Held to MAX_INPUT_DEPTH, so that the entry recording this text stays verifiable.
  const canonical = canonicalJson(input, undefined, MAX_INPUT_DEPTH);
  return { canonical, hash: sha256(canonical) };
}

/** The input hash of design.md §4: SHA-256 of the canonical JSON of the policy input. */
export function inputHash(input: unknown): string {
  return sha256(canonicalJson(input, undefined, MAX_INPUT_DEPTH));
}

/**
 * Hashes a body while it streams: feed it every chunk as it passes, read the
 * digest at the end. Nothing is buffered, so a large response costs no memory.
 */
export class OutputHasher {
  #hash: Hash = createHash('sha256');
  #bytes = 0;
  #digest: string | undefined;

  update(chunk: Uint8Array | string): void {
    if (this.#digest !== undefined) throw new Error('OutputHasher: update() after digest()');
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.#bytes += buf.byteLength;
    this.#hash.update(buf);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `sha256:<hex>` of everything seen; may be called more than once. */
  digest(): string {
    this.#digest ??= HASH_PREFIX + this.#hash.digest('hex');
    return this.#digest;
  }
}

/** The result of a hashed stream once it has ended. */
export interface StreamDigest {
  hash: string;
  bytes: number;
}

/**
 * A pass-through stream that hashes the bytes flowing through it. `result`
 * resolves when the stream ends (after the last byte has been passed on) and
 * rejects if the stream is destroyed with an error first.
 */
export class HashingTransform extends Transform {
  readonly hasher = new OutputHasher();
  readonly result: Promise<StreamDigest>;

  constructor() {
    super();
    let resolve!: (d: StreamDigest) => void;
    let reject!: (e: Error) => void;
    this.result = new Promise<StreamDigest>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A stream aborted half-way still has no hash of the whole body; callers
    // that want the partial count read `hasher.bytes`.
    this.result.catch(() => undefined);
    this.once('end', () => resolve({ hash: this.hasher.digest(), bytes: this.hasher.bytes }));
    this.once('close', () => reject(new Error('stream closed before its end')));
    this.once('error', (e) => reject(e));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hasher.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    cb();
  }
}
