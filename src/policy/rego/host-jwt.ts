/**
 * JWT signature builtins that need public-key cryptography, run by the host
 * with node:crypto (the wasm runtime has HMAC only): io.jwt.decode_verify and
 * io.jwt.verify_{rs,ps,es}{256,384,512} / verify_eddsa, and the signing
 * builtins io.jwt.encode_sign / encode_sign_raw (keys as JWKs). Keys are PEM
 * certificates, PEM public keys, or a JWK / JWK set (valid when any key
 * verifies). Semantics follow OPA: a token that fails verification or a
 * claim check is `[false, {}, {}]`; malformed input is an error.
 */
import {
  createHmac, createPrivateKey, createPublicKey, timingSafeEqual, verify, sign as cryptoSign, X509Certificate, constants, type KeyObject,
} from 'node:crypto';

type Json = Record<string, unknown>;

interface Token {
  header: Json;
  payload: Json;
  signed: Buffer;
  signature: Buffer;
}

function fail(builtin: string, message: string): never {
  throw new Error(`eval_builtin_error: ${builtin}: ${message}`);
}

function section(builtin: string, what: string, text: string): Buffer {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) fail(builtin, `JWT ${what} had invalid encoding`);
  return Buffer.from(text, 'base64url');
}

function json(builtin: string, what: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return fail(builtin, `JWT ${what} had invalid JSON`);
  }
}

/**
 * Splits and decodes a compact JWS, following nested tokens (cty: JWT, the
 * inner token as raw text or as a JSON string). Every level is returned,
 * outermost first; the last one carries the claims.
 */
function parseToken(builtin: string, jwt: unknown): Token[] {
  if (typeof jwt !== 'string') fail(builtin, 'operand 1 must be string');
  const levels: Token[] = [];
  let text = jwt;
  for (let depth = 0; depth < 16; depth++) {
    const { level, inner } = parseLevel(builtin, text);
    levels.push(level);
    if (inner === undefined) return levels;
    text = inner;
  }
  return fail(builtin, 'JWT nested too deeply');
}

/** One level of a token: its parts decoded, and the inner token's text when its payload is one. */
function parseLevel(builtin: string, text: string): { level: Token; inner?: string } {
  const parts = text.split('.');
  if (parts.length === 1) fail(builtin, 'encoded JWT had no period separators');
  if (parts.length !== 3) fail(builtin, `encoded JWT must have 3 sections, found ${parts.length}`);
  const h = headerObject(builtin, parts[0]!);
  const payloadBytes = section(builtin, 'payload', parts[1]!);
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = section(builtin, 'signature', parts[2]!);
  if (typeof h.cty === 'string' && h.cty.toUpperCase() === 'JWT') {
    return { level: { header: h, payload: {}, signed, signature }, inner: nestedToken(builtin, payloadBytes) };
  }
  const payload = json(builtin, 'payload', payloadBytes);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) fail(builtin, 'JWT payload is not an object');
  return { level: { header: h, payload: payload as Json, signed, signature } };
}

/** A level's header: a JSON object, and not a JWE's. */
function headerObject(builtin: string, part: string): Json {
  const header = json(builtin, 'header', section(builtin, 'header', part));
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(builtin, 'JWT header is not an object');
  const h = header as Json;
  if ('enc' in h) fail(builtin, 'JWT is a JWE object, which is not supported');
  return h;
}

/** The payload of a `cty: JWT` level: the inner token as raw text or as a JSON string. */
function nestedToken(builtin: string, payloadBytes: Buffer): string {
  const raw = payloadBytes.toString('utf8');
  const inner = raw.startsWith('"') ? json(builtin, 'payload', payloadBytes) : raw;
  if (typeof inner !== 'string') fail(builtin, 'nested JWT payload is not a string');
  return inner;
}

/**
 * A `crit` header must be a non-empty list (a malformed one is an error);
 * returns whether the header has one. No extension is understood, so a
 * token naming any is not valid for decode_verify (RFC 7515 §4.1.11).
 */
function hasCrit(builtin: string, header: Json): boolean {
  if (!('crit' in header)) return false;
  if (!Array.isArray(header.crit)) fail(builtin, 'crit: must be a list');
  if (header.crit.length === 0) fail(builtin, 'crit: must be a nonempty list');
  return true;
}

/**
 * Refuses text after the first PEM block (whitespace included), as OPA does:
 * a certificate followed by another, or by anything, is not one key.
 */
function singlePemBlock(builtin: string, text: string): void {
  const begin = text.indexOf('-----BEGIN');
  const end = text.indexOf('-----END', begin);
  if (begin < 0 || end < 0) return;
  const close = text.indexOf('-----', end + '-----END'.length);
  if (close < 0) return;
  const newline = text.indexOf('\n', close + 5);
  if (newline >= 0 && newline + 1 < text.length) fail(builtin, 'extra data after a PEM certificate block');
}

/** The public keys a "cert" constraint names: PEM certificate or key, JWK, or JWK set. */
function publicKeys(builtin: string, cert: string): KeyObject[] {
  if (cert.includes('-----BEGIN')) singlePemBlock(builtin, cert);
  try {
    if (cert.includes('-----BEGIN CERTIFICATE-----')) return [new X509Certificate(cert).publicKey];
    if (cert.includes('-----BEGIN')) return [createPublicKey(cert)];
    const jwk = JSON.parse(cert) as Json;
    const keys = Array.isArray(jwk.keys) ? (jwk.keys as Json[]) : [jwk];
    return keys.map((k) => createPublicKey({ key: k as never, format: 'jwk' }));
  } catch (e) {
    return fail(builtin, `failed to parse a JWK key (set) or PEM certificate: ${(e as Error).message}`);
  }
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Verifies the token's signature with `alg` (from the header). */
function signatureValid(token: Token, alg: string, keys: KeyObject[] | undefined, secret: string | undefined): boolean {
  const family = alg.slice(0, 2);
  const hash = HASH[alg.slice(2)];
  if (family === 'HS' && hash) {
    if (secret === undefined) return false;
    const mac = createHmac(hash, secret).update(token.signed).digest();
    return mac.length === token.signature.length && timingSafeEqual(mac, token.signature);
  }
  if (!keys) return false;
  return keys.some((key) => {
    try {
      if (alg === 'EdDSA') return verify(null, token.signed, key, token.signature);
      if (!hash) return false;
      if (family === 'RS') return verify(hash, token.signed, key, token.signature);
      if (family === 'PS') {
        return verify(hash, token.signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, token.signature);
      }
      if (family === 'ES') return verify(hash, token.signed, { key, dsaEncoding: 'ieee-p1363' }, token.signature);
    } catch {
      return false;
    }
    return false;
  });
}

const CONSTRAINTS = new Set(['cert', 'secret', 'alg', 'iss', 'aud', 'time']);
const INVALID = [false, {}, {}];

/** io.jwt.decode_verify(jwt, constraints) at the evaluation's instant `nowNs`. */
export function decodeVerify(jwt: unknown, constraints: unknown, nowNs: () => bigint): unknown {
  const builtin = 'io.jwt.decode_verify';
  const c = checkConstraints(builtin, constraints);
  const levels = parseToken(builtin, jwt);
  const unknownExtension = levels.map((level) => hasCrit(builtin, level.header)).some(Boolean);
  if (unknownExtension || !signaturesValid(builtin, levels, c)) return INVALID;
  const token = levels[levels.length - 1]!;
  const now = typeof c.time === 'number' ? c.time : Number(nowNs());
  if (!inTime(builtin, token.payload, now) || !forAudience(token.payload, c)) return INVALID;
  return [true, token.header, token.payload];
}

function isJsonObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The constraints object: known keys only, a cert or a secret (strings). */
function checkConstraints(builtin: string, constraints: unknown): Json {
  if (!isJsonObject(constraints)) fail(builtin, 'operand 2 must be object');
  const c = constraints;
  for (const k of Object.keys(c)) if (!CONSTRAINTS.has(k)) fail(builtin, `unknown token validation constraint: ${k}`);
  for (const k of ['cert', 'secret']) if (c[k] !== undefined && typeof c[k] !== 'string') fail(builtin, `${k} constraint must be a string`);
  if (c.cert === undefined && c.secret === undefined) fail(builtin, 'no key constraint: one of cert or secret is required');
  return c;
}

/** Every level of a nested token is signed with the same key, with the constrained alg if one is given. */
function signaturesValid(builtin: string, levels: Token[], c: Json): boolean {
  const keys = typeof c.cert === 'string' ? publicKeys(builtin, c.cert) : undefined;
  return levels.every((level) => {
    const alg = level.header.alg;
    if (typeof alg !== 'string') return false;
    if (c.alg !== undefined && c.alg !== alg) return false;
    return signatureValid(level, alg, keys, c.secret as string | undefined);
  });
}

/** `exp` and `nbf` (seconds) against `now` (nanoseconds); malformed ones are errors. */
function inTime(builtin: string, p: Json, now: number): boolean {
  if (p.exp !== undefined) {
    if (typeof p.exp !== 'number') fail(builtin, 'exp value must be a number');
    if (now >= p.exp * 1e9) return false;
  }
  if (p.nbf === undefined) return true;
  if (typeof p.nbf !== 'number') fail(builtin, 'nbf value must be a number');
  return now >= p.nbf * 1e9;
}

/** The issuer constraint, and the audience: a token with one needs the constraint naming it, and the other way round. */
function forAudience(p: Json, c: Json): boolean {
  if (c.iss !== undefined && p.iss !== c.iss) return false;
  if (p.aud === undefined && c.aud === undefined) return true;
  if (c.aud === undefined || p.aud === undefined) return false;
  const auds = Array.isArray(p.aud) ? p.aud : [p.aud];
  return auds.includes(c.aud);
}

/** io.jwt.verify_<alg>(jwt, certificate): the signature alone. */
export function verifyWith(alg: string, jwt: unknown, cert: unknown): boolean {
  const builtin = `io.jwt.verify_${alg.toLowerCase()}`;
  if (typeof cert !== 'string') fail(builtin, 'operand 2 must be string');
  if (typeof jwt !== 'string') fail(builtin, 'operand 1 must be string');
  const parts = jwt.split('.');
  if (parts.length !== 3) fail(builtin, `encoded JWT must have 3 sections, found ${parts.length}`);
  const header = headerOf(parts[0]!);
  if (header) hasCrit(builtin, header);
  const token: Token = { header: {}, payload: {}, signed: Buffer.from(`${parts[0]}.${parts[1]}`), signature: section(builtin, 'signature', parts[2]!) };
  return signatureValid(token, alg, publicKeys(builtin, cert), undefined);
}

/** The header as an object, or undefined when it is not one (verify_* judge the signature alone). */
function headerOf(text: string): Json | undefined {
  try {
    const h: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    return h !== null && typeof h === 'object' && !Array.isArray(h) ? (h as Json) : undefined;
  } catch {
    return undefined;
  }
}

export const PUBLIC_KEY_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Signs `signingInput` with the JWK `key` as `alg` names it. */
function sign(builtin: string, alg: string, signingInput: string, key: Json): Buffer {
  const family = alg.slice(0, 2);
  const hash = HASH[alg.slice(2)];
  if (family === 'HS' && hash) {
    if (typeof key.k !== 'string') fail(builtin, 'the key for an HS algorithm must be an "oct" JWK with "k"');
    return createHmac(hash, Buffer.from(key.k, 'base64url')).update(signingInput).digest();
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: key as never, format: 'jwk' });
  } catch (e) {
    return fail(builtin, `invalid private JWK: ${(e as Error).message}`);
  }
  const data = Buffer.from(signingInput);
  if (alg === 'EdDSA') return cryptoSign(null, data, privateKey);
  if (!hash) fail(builtin, `unsupported alg: ${alg}`);
  if (family === 'RS') return cryptoSign(hash, data, privateKey);
  if (family === 'PS') return cryptoSign(hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  if (family === 'ES') return cryptoSign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return fail(builtin, `unsupported alg: ${alg}`);
}

function signCompact(builtin: string, headerText: string, payloadText: string, keyText: string): string {
  let header: unknown;
  let key: unknown;
  try {
    header = JSON.parse(headerText);
    key = JSON.parse(keyText);
  } catch {
    return fail(builtin, 'header and key must be JSON objects');
  }
  const alg = (header as Json | null)?.alg;
  if (typeof alg !== 'string') fail(builtin, 'the header must name an alg');
  if ((header as Json).typ === 'JWT') {
    try {
      JSON.parse(payloadText);
    } catch {
      fail(builtin, 'type is JWT but payload is not JSON');
    }
  }
  if (key === null || typeof key !== 'object') fail(builtin, 'the key must be a JWK object');
  const input = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(payloadText).toString('base64url')}`;
  return `${input}.${sign(builtin, alg, input, key as Json).toString('base64url')}`;
}

/** io.jwt.encode_sign(headers, payload, key): objects, written as compact JSON. */
export function encodeSign(headers: unknown, payload: unknown, key: unknown): string {
  const builtin = 'io.jwt.encode_sign';
  for (const [i, v] of [headers, payload, key].entries()) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(builtin, `operand ${i + 1} must be object`);
  }
  return signCompact(builtin, JSON.stringify(headers), JSON.stringify(payload), JSON.stringify(key));
}

/** io.jwt.encode_sign_raw(headers, payload, key): JSON texts used as given. */
export function encodeSignRaw(headers: unknown, payload: unknown, key: unknown): string {
  const builtin = 'io.jwt.encode_sign_raw';
  for (const [i, v] of [headers, payload, key].entries()) if (typeof v !== 'string') fail(builtin, `operand ${i + 1} must be string`);
  return signCompact(builtin, headers as string, payload as string, key as string);
}
