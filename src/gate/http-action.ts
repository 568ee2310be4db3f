/**
 * Plain HTTP requests → `http` actions (design.md §2): the normalised and raw
 * path, the query, the headers with secrets hashed, the JSON body parsed.
 */
import { createHash } from 'node:crypto';
import type { Action, HttpAction } from './types.ts';
import { normalisePath, parseQuery, splitPathAndQuery } from './path.ts';
import { normaliseAuthority } from './host.ts';
import { policyHeaders, type RawHeaders } from './headers.ts';
import { parseStrictJson } from './strict-json.ts';

export interface HttpRequestParts {
  method: string;
  scheme: 'http' | 'https';
  /** `host[:port]` of the upstream. */
  authority: string;
  /** Origin-form target: `/path?query`. */
  target: string;
  headers: RawHeaders;
  body?: Buffer;
}

export interface BuiltHttpAction {
  action: Action;
  /** The path to send upstream (dot segments removed, see path.ts). */
  forwardPath: string;
  rawQuery: string;
}

/** `application/json` or any `…+json` media type, parameters after `;` ignored (one scan: this is on every response). */
const JSON_MEDIA_TYPE = /^\s*(?:application\/json|[^;]*\+json)\s*(?:;|$)/i;

export function isJsonContentType(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && JSON_MEDIA_TYPE.test(contentType);
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Builds the action; throws PortcullisError (BAD_PATH, BAD_REQUEST,
 * JSON_DUPLICATE_KEY) when the request cannot be read unambiguously.
 */
export function buildHttpAction(parts: HttpRequestParts, tool: string, redactedHeaders: readonly string[]): BuiltHttpAction {
  const { host, port } = normaliseAuthority(parts.authority, parts.scheme);
  const { rawPath, rawQuery } = splitPathAndQuery(parts.target);
  const { path, forward } = normalisePath(rawPath);
  const http: HttpAction = {
    method: parts.method.toUpperCase(),
    scheme: parts.scheme,
    host,
    port,
    path,
    rawPath,
    query: parseQuery(rawQuery),
    headers: policyHeaders(parts.headers, redactedHeaders),
  };
  if (parts.body && parts.body.length > 0) {
    http.bodySha256 = sha256Hex(parts.body);
    if (isJsonContentType(parts.headers['content-type'])) http.body = parseStrictJson(parts.body.toString('utf8'));
  }
  return { action: { type: 'http', tool, http }, forwardPath: forward, rawQuery };
}

/** A `connect` action: only the host and port are visible in a tunnel. */
export function buildConnectAction(authority: string, headers: RawHeaders, redactedHeaders: readonly string[]): Action {
  const { host, port } = normaliseAuthority(authority, 'https');
  return {
    type: 'connect',
    tool: host,
    http: {
      method: 'CONNECT',
      scheme: 'https',
      host,
      port,
      path: '',
      rawPath: '',
      query: {},
      headers: policyHeaders(headers, redactedHeaders),
    },
  };
}
