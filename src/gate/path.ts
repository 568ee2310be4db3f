/**
 * Path normalisation (design.md §2): the policy must see the path the
 * upstream will act on, so `/%70rod/x`, `/public/../prod/x` and
 * `/a%2F..%2Fprod` all read as `/prod/…` to the policy.
 *
 * Two forms come out:
 * - `path`: fully percent-decoded, then dot segments removed. This is the most
 *   aggressive reading of the raw path, so a rule on it cannot be dodged by
 *   an encoding the upstream would undo.
 * - `forward`: what is sent upstream. Dot segments are removed, runs of `/`
 *   merged, and encoded unreserved characters decoded (`%70` → `p`, `%2E` →
 *   `.`), but reserved characters such as `%2F` keep their encoding, because
 *   an API may use them inside an identifier.
 *
 * Servers read some path forms differently from one another, so a policy
 * could decide on one reading while the upstream acts on another. Those forms
 * are either folded the same way for both (`//admin` is `/admin` to the
 * policy and to the upstream, as nginx, Go and Spring would fold it) or
 * refused with BAD_PATH when no single reading exists:
 * - an encoded slash that forms a dot segment (`/admin%2F..%2Fv1`): one
 *   segment by the URL standard, `/v1` to a server that decodes first;
 * - a `;` in the raw path (`/admin;x=1`, `/..;/admin`): Java containers strip
 *   path parameters before routing, other servers do not;
 * - backslashes, control characters and malformed escapes.
 */
import { PortcullisError, ErrorCodes } from '../errors.ts';

export interface NormalisedPath {
  path: string;
  forward: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function badPath(raw: string, why: string): PortcullisError {
  return new PortcullisError(ErrorCodes.BAD_PATH, `request path ${JSON.stringify(raw)} is refused: ${why}`, { rawPath: raw });
}

/** RFC 3986 §5.2.4 on a path already split at `/`. Keeps a trailing slash. */
export function removeDotSegments(path: string): string {
  const input = path.split('/');
  const out: string[] = [];
  for (let i = 0; i < input.length; i++) {
    const seg = input[i]!;
    const last = i === input.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..' && out.length > 1) out.pop();
      // A trailing `.` or `..` names the directory: keep the slash.
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  return joined.startsWith('/') ? joined : '/' + joined;
}

/** Decodes only percent-encoded unreserved characters; validates every escape. */
function decodeUnreserved(raw: string): string {
  return raw.replace(/%([0-9A-Fa-f]{2})?/g, (m, hex: string | undefined) => {
    if (!hex) throw badPath(raw, 'malformed percent-encoding');
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : '%' + hex.toUpperCase();
  });
}

function decodeAll(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badPath(raw, 'percent-encoding is not valid UTF-8');
  }
}

/** Folds runs of `/` into one, as most HTTP servers and routers do. */
function mergeSlashes(path: string): string {
  return path.replace(/\/{2,}/g, '/');
}

/** True when some segment of an already-decoded path is `.` or `..`. */
function hasDotSegment(path: string): boolean {
  return path.split('/').some((seg) => seg === '.' || seg === '..');
}

/** Paths with nothing to decode, fold or resolve (the common case) skip the work. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9\-_~!$&'()*+,=:@]+(?:\.[A-Za-z0-9\-_~!$&'()*+,=:@]+)*)*\/?$/;

/** Refuses, before anything is decoded, what parsers read differently or what has no business in a tool path. */
function checkRawPath(raw: string): void {
  if (!raw.startsWith('/')) throw badPath(raw, 'a path must start with "/"');
  // Control characters (and encoded NUL) have no business in a tool path and
  // are a classic way to make two parsers disagree.
  if (/[\x00-\x20\x7f]/.test(raw)) throw badPath(raw, 'control characters or spaces');
  if (/%(0[0-9a-fA-F]|1[0-9a-fA-F]|7[fF])/.test(raw)) throw badPath(raw, 'encoded control characters');
  if (raw.includes(';')) {
    throw badPath(raw, 'a ";" in the path is stripped as a path parameter by some servers and not by others; encode it as %3B if it is data');
  }
}

/** The fully decoded reading of the forwarded path, which the policy sees. */
function policyPath(raw: string, forward: string): string {
  const decoded = decodeAll(forward);
  if (decoded.includes('\\')) throw badPath(raw, 'backslashes are read as "/" by some servers; send "/"');
  const path = mergeSlashes(decoded);
  if (hasDotSegment(path)) {
    throw badPath(raw, 'an encoded "/" forms a "." or ".." segment, which servers resolve differently; send the path with its dot segments resolved');
  }
  return path;
}

/** Normalises a request path (without query). Throws PortcullisError BAD_PATH. */
export function normalisePath(raw: string): NormalisedPath {
  if (raw === '' || raw === '*') return { path: '/', forward: '/' };
  if (PLAIN_PATH.test(raw)) return { path: raw, forward: raw };
  checkRawPath(raw);
  const unreserved = decodeUnreserved(raw);
  if (unreserved.includes('//') && hasDotSegment(unreserved)) {
    // `/a//../b` is `/a/b` by RFC 3986 but `/b` where slashes merge first.
    throw badPath(raw, 'empty segments ("//") next to "." or ".." segments resolve differently on different servers');
  }
  const forward = mergeSlashes(removeDotSegments(unreserved));
  return { path: policyPath(raw, forward), forward };
}

/** Splits `path?query` without decoding. */
export function splitPathAndQuery(target: string): { rawPath: string; rawQuery: string } {
  const q = target.indexOf('?');
  const noFragment = (s: string): string => {
    const h = s.indexOf('#');
    return h < 0 ? s : s.slice(0, h);
  };
  if (q < 0) return { rawPath: noFragment(target), rawQuery: '' };
  return { rawPath: target.slice(0, q), rawQuery: noFragment(target.slice(q + 1)) };
}

/** Query parameters as the policy sees them: every value a list, in order. */
export function parseQuery(rawQuery: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!rawQuery) return out;
  for (const [k, v] of new URLSearchParams(rawQuery)) {
    (Object.hasOwn(out, k) ? out[k]! : (out[k] = [])).push(v);
  }
  return out;
}

/** The query string for a (possibly rewritten) query object. */
export function formatQuery(query: Record<string, string[]>): string {
  const params = new URLSearchParams();
  for (const [k, vs] of Object.entries(query)) for (const v of vs) params.append(k, v);
  const s = params.toString();
  return s ? '?' + s : '';
}
