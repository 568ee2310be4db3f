/**
 * Header handling for the policy input and the forwarded request. Secrets
 * (authorization, cookies, API keys) are replaced by their hash before the
 * policy or any record sees them: a policy can still compare them to a known
 * hash, a ledger never holds them.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_REDACTED_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-amz-security-token',
  'x-goog-api-key',
  'openai-api-key',
  'anthropic-api-key',
]);

/** Connection-scoped headers (RFC 9110 §7.6.1): never part of an action, never forwarded. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export type RawHeaders = Record<string, string | string[] | undefined>;

export function hashSecret(value: string): string {
  return 'sha256:' + createHash('sha256').update(value, 'utf8').digest('hex');
}

function joinValue(v: string | string[]): string {
  return Array.isArray(v) ? v.join(', ') : v;
}

const NO_NAMES: ReadonlySet<string> = new Set();
/** The common `Connection:` values name no other header: one shared answer each, no parsing. */
const PLAIN_CONNECTION: ReadonlyMap<string, ReadonlySet<string>> = new Map(['keep-alive', 'close', 'Keep-Alive', 'Close'].map((v) => [v, new Set([v.toLowerCase()])]));

/** Headers named in `Connection:` are hop-by-hop too. */
function connectionTokens(headers: RawHeaders): ReadonlySet<string> {
  const c = headers['connection'];
  if (!c) return NO_NAMES;
  const plain = typeof c === 'string' ? PLAIN_CONNECTION.get(c) : undefined;
  if (plain) return plain;
  return new Set(joinValue(c).split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/** The configured redactions as a set, made once per (frozen) list. */
const nameSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function nameSet(names: readonly string[]): ReadonlySet<string> {
  if (names.length === 0) return NO_NAMES;
  let set = nameSets.get(names);
  if (!set) nameSets.set(names, (set = new Set(names.map((s) => s.toLowerCase()))));
  return set;
}

/** The headers as the policy sees them: lower-case names, secrets hashed, hop-by-hop dropped. */
export function policyHeaders(headers: RawHeaders, redacted: readonly string[]): Record<string, string> {
  const hop = connectionTokens(headers);
  const secret = nameSet(redacted);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || hop.has(n) || n === 'host' || n === 'content-length') continue;
    const v = joinValue(value);
    out[n] = secret.has(n) ? hashSecret(v) : v;
  }
  return out;
}

/**
 * Never sent upstream as received: hop-by-hop headers, the host and length the
 * upstream client sets itself, and `expect: 100-continue`, which the proxy's
 * own server answered already.
 */
const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'content-length', 'expect']);

/** The headers sent upstream: hop-by-hop removed, plus any a constraint strips. */
export function forwardHeaders(headers: RawHeaders, strip: readonly string[] = []): Record<string, string | string[]> {
  const hop = connectionTokens(headers);
  const drop = strip.length === 0 ? NO_NAMES : new Set(strip.map((s) => s.toLowerCase()));
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (NOT_FORWARDED.has(n) || hop.has(n) || drop.has(n)) continue;
    out[n] = value;
  }
  return out;
}

/** The token of an `Authorization: Bearer <token>` header (scheme in any case), or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}
