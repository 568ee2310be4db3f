/**
 * AWS Signature Version 4 for S3 requests: pure functions from a request to
 * its `Authorization` header. Written here rather than taken from an SDK so
 * the image carries a hundred lines instead of a client library, and the
 * sidecar's one dependency on object storage is four verbs over undici.
 *
 * The payload is always signed with its SHA-256 (never UNSIGNED-PAYLOAD):
 * the server refuses a body that differs from what was signed, which is part
 * of how an upload is known to have arrived intact.
 */
import { createHash, createHmac } from 'node:crypto';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials (STS, IRSA) carry a session token. */
  sessionToken?: string;
}

export interface SignableRequest {
  method: string;
  /** The URL as it will be sent: path already percent-encoded by `encodeKeyPath`, query in `query`. */
  url: URL;
  /** Header names in any case; `host` is taken from the URL. */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body (`EMPTY_SHA256` for none). */
  payloadSha256: string;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 unreserved characters stay, everything else is %XX (uppercase), as SigV4 requires. */
export function uriEncode(value: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** `/bucket/key` with every segment encoded once (S3 does not double-encode paths). */
export function encodeKeyPath(bucket: string, key: string): string {
  return '/' + uriEncode(bucket) + (key ? '/' + uriEncode(key, true) : '');
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');

/** `20261203T211500Z` and `20261203`. */
export function amzDates(at: Date): { amzDate: string; day: string } {
  const amzDate = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return { amzDate, day: amzDate.slice(0, 8) };
}

function canonicalQuery(url: URL): string {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of url.searchParams) pairs.push([uriEncode(k), uriEncode(v)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * The headers to send: the given ones plus `host`, `x-amz-date`,
 * `x-amz-content-sha256`, the session token if any, and `authorization`.
 */
export function signRequest(req: SignableRequest, credentials: S3Credentials, region: string, at: Date = new Date()): Record<string, string> {
  const { amzDate, day } = amzDates(at);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = String(v).trim().replace(/\s+/g, ' ');
  headers.host = req.url.host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = req.payloadSha256;
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    req.method.toUpperCase(),
    req.url.pathname || '/',
    canonicalQuery(req.url),
    names.map((n) => `${n}:${headers[n]}\n`).join(''),
    names.join(';'),
    req.payloadSha256,
  ].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac('AWS4' + credentials.secretAccessKey, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}
