/**
 * providers.aws.sign_req(request, aws_config, time_ns) on the host: AWS
 * Signature Version 4 over an http.send-style request object, returning the
 * request with the signing headers added (host, x-amz-date,
 * x-amz-content-sha256, x-amz-security-token, Authorization).
 */
import { createHash, createHmac } from 'node:crypto';

type Json = Record<string, unknown>;
const BUILTIN = 'providers.aws.sign_req';

function typeFail(message: string): never {
  throw new Error(`eval_type_error: ${BUILTIN}: ${message}`);
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

function requireKeys(obj: Json, keys: string[], operand: number, what: string): void {
  const missing = keys.filter((k) => !(k in obj));
  if (missing.length) typeFail(`operand ${operand} missing required ${what} parameters(s): {${missing.map((k) => JSON.stringify(k)).join(', ')}}`);
  const bad = keys.filter((k) => typeof obj[k] !== 'string');
  if (bad.length) typeFail(`operand ${operand} invalid values for required ${what} parameters(s): {${bad.map((k) => JSON.stringify(k)).join(', ')}}`);
}

export function signAwsRequest(request: unknown, config: unknown, timeNs: unknown): unknown {
  const { req, cfg } = checkOperands(request, config);
  const amzDate = amzDateOf(timeNs);
  const headers = awsHeaders(req, cfg, amzDate);
  headers.Authorization = authorization({ req, cfg, headers, amzDate });
  return { ...req, headers };
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The request and the AWS config, with the keys and types OPA requires. */
function checkOperands(request: unknown, config: unknown): { req: Json; cfg: Json } {
  if (!isObject(request)) typeFail('operand 1 must be object');
  if (!isObject(config)) typeFail('operand 2 must be object');
  requireKeys(request, ['method', 'url'], 1, 'request');
  requireKeys(config, ['aws_access_key', 'aws_region', 'aws_secret_access_key', 'aws_service'], 2, 'AWS config');
  const unsigned = config.disable_payload_signing;
  if (unsigned !== undefined && typeof unsigned !== 'boolean') typeFail("operand 2 invalid value for 'disable_payload_signing' in AWS config");
  return { req: request, cfg: config };
}

/** `20240102T030405Z` for a time in nanoseconds. */
function amzDateOf(timeNs: unknown): string {
  if (typeof timeNs !== 'number' || !Number.isInteger(timeNs) || timeNs < 0) typeFail('operand 3 could not convert time_ns value into a unix timestamp');
  const date = new Date(Math.floor(timeNs / 1e6));
  if (Number.isNaN(date.getTime())) typeFail('operand 3 could not convert time_ns value into a unix timestamp');
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The request's headers with the AWS ones added. */
function awsHeaders(req: Json, cfg: Json, amzDate: string): Record<string, string> {
  const url = new URL(req.url as string);
  const body = typeof req.raw_body === 'string' ? req.raw_body : req.body !== undefined ? JSON.stringify(req.body) : '';
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.headers ?? {}) as Json)) headers[k] = String(v);
  headers.host = url.host;
  headers['x-amz-date'] = amzDate;
  // Always the payload's digest (or UNSIGNED-PAYLOAD): a value the request brought is replaced, as OPA does.
  headers['x-amz-content-sha256'] = cfg.disable_payload_signing === true ? 'UNSIGNED-PAYLOAD' : sha256(body);
  if (typeof cfg.aws_session_token === 'string') headers['x-amz-security-token'] = cfg.aws_session_token;
  return headers;
}

/**
 * The Authorization header. Signed: the AWS headers and the request's own,
 * by lower-case name. The path and query are used as written (Go's
 * EscapedPath and RawQuery). A header the request brought is signed with
 * its own value, even the x-amz-content-sha256 replaced (the payload line
 * has the digest), as OPA signs.
 */
function authorization(at: { req: Json; cfg: Json; headers: Record<string, string>; amzDate: string }): string {
  const { req, cfg, headers, amzDate } = at;
  const day = amzDate.slice(0, 8);
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries((req.headers ?? {}) as Json)) if (k.toLowerCase() === 'x-amz-content-sha256') lower[k.toLowerCase()] = String(v);
  const payloadHash = headers['x-amz-content-sha256']!;
  const names = Object.keys(lower).sort();
  const raw = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^?#]*)(?:\?([^#]*))?/.exec(req.url as string);
  const canonical = [
    String(req.method), raw?.[1] ?? '', raw?.[2] ?? '', names.map((n) => `${n}:${lower[n]}\n`).join(''), names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${cfg.aws_region}/${cfg.aws_service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`;
  let key = hmac(`AWS4${cfg.aws_secret_access_key}`, day);
  for (const part of [cfg.aws_region as string, cfg.aws_service as string, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${cfg.aws_access_key}/${scope},SignedHeaders=${names.join(';')},Signature=${signature}`;
}
