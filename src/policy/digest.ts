/**
 * The policy digest names exactly what decided (design.md §4): SHA-256 over
 * the compiled wasm and the RFC 8785 canonical JSON of the bundle's data.
 *
 * The wasm length goes first as a fixed 8-byte big-endian prefix so that the
 * boundary between the two parts is unambiguous: no (wasm, data) pair can
 * collide with another by moving bytes across the boundary.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../evidence/canonical.ts';

export const DIGEST_PREFIX = 'sha256:';

export function policyDigest(wasm: Uint8Array, data: unknown): string {
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(wasm.byteLength));
  const hash = createHash('sha256');
  hash.update(length);
  hash.update(wasm);
  hash.update(canonicalJson(data ?? {}), 'utf8');
  return DIGEST_PREFIX + hash.digest('hex');
}

/** True when `digest` has the `sha256:<64 hex>` form. */
export function isPolicyDigest(digest: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(digest);
}
