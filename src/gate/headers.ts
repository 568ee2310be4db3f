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

/** Headers named in `Connection:` are hop-by-hop too. */
function connectionTokens(headers: RawHeaders): Set<string> {
  const c = headers['connection'];
  if (!c) return new Set();
  return new Set(joinValue(c).split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/** The headers as the policy sees them: lower-case names, secrets hashed, hop-by-hop dropped. */
export function policyHeaders(headers: RawHeaders, redacted: readonly string[]): Record<string, string> {
  const hop = connectionTokens(headers);
  const secret = new Set(redacted);
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

/** The headers sent upstream: hop-by-hop removed, plus any a constraint strips. */
export function forwardHeaders(headers: RawHeaders, strip: readonly string[] = []): Record<string, string | string[]> {
  const hop = connectionTokens(headers);
  const drop = new Set(strip.map((s) => s.toLowerCase()));
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    // `expect: 100-continue` was answered by the proxy's own server already.
    if (HOP_BY_HOP.has(n) || hop.has(n) || drop.has(n) || n === 'host' || n === 'content-length' || n === 'expect') continue;
    out[n] = value;
  }
  return out;
}
