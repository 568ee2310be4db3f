/**
 * The compact JWS pieces bundle signatures (bundle-signing.ts) and verdict
 * attestations (gate/verdict-attestation.ts) share: a JSON part encoded as
 * base64url, and read back as a JSON object. Each caller names its own
 * error, since a bad bundle and a bad verdict are refused with different codes.
 */
import type { PortcullisError } from '../errors.ts';

/** The base64url of `value`'s JSON: a JWS header or payload. */
export function jwsPart(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A JWS header or payload as a JSON object; `refuse` makes the error for a part that is not one. */
export function readJwsPart(part: string, what: string, refuse: (problem: string) => PortcullisError): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw refuse(`the ${what} is not base64url JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw refuse(`the ${what} is not a JSON object`);
  return v as Record<string, unknown>;
}
