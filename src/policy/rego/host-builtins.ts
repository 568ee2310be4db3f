import { randomInt, randomUUID } from 'node:crypto';
import { decodeVerify, encodeSign, encodeSignRaw, verifyWith, PUBLIC_KEY_ALGS } from './host-jwt.ts';
import { signAwsRequest } from './host-aws.ts';
import { renderTemplate } from './host-template.ts';
import { matchSchema, verifySchema } from './host-json-schema.ts';
import { parseCertificateRequest } from './host-csr.ts';
import { parseAndVerifyCertificates, parseCertificates, parseKeypair, parsePrivateKeys, parseRsaPrivateKey } from './host-x509.ts';

/**
 * Builtins a compiled policy reaches through the SDK's `opa_builtinN`
 * imports that neither the SDK nor the wasm runtime can implement, because
 * they need the host: the clock (`time.now_ns`), randomness (`rand.intn`,
 * `uuid.rfc4122`), and public-key JWT verification (`io.jwt.decode_verify`,
 * `io.jwt.verify_rs256` …, see host-jwt.ts), and X.509 and private-key
 * parsing (`crypto.x509.*`, `crypto.parse_private_keys`, see host-x509.ts). OPA's own wasm modules call it
 * the same way, so the same host builtins serve modules built by
 * `opa build -t wasm` and by Portcullis's compiler. Pass `builtins` as the
 * SDK's custom builtins: `loadPolicy(wasm, undefined, host.builtins)`.
 *
 * OPA gives every `time.now_ns()` of one evaluation the same value. The SDK
 * has no evaluation hook, so the host fixes the instant: call
 * `beginEvaluation()` before each `evaluate` (optionally with the instant
 * the decision is about, e.g. the request's `context.time`, which also
 * makes a replayed decision see the same clock). Without it, every call
 * reads the clock. Random values are likewise stable within one evaluation
 * for the same arguments (OPA caches them per query) and fresh after the
 * next `beginEvaluation()`.
 */
export interface HostBuiltins {
  readonly builtins: Record<string, (...args: unknown[]) => unknown>;
  /** Fixes `time.now_ns` for the evaluation about to run (default: the clock now). */
  beginEvaluation(nowNs?: bigint): void;
}

export type ClockNs = () => bigint;

/** Wall-clock nanoseconds since the Unix epoch (millisecond resolution). */
export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function createHostBuiltins(clock: ClockNs = wallClockNs): HostBuiltins {
  let fixed: bigint | undefined;
  let draws = new Map<string, unknown>();
  const encoder = new TextEncoder();
  const now = (): bigint => fixed ?? clock();
  const once = (key: string, draw: () => unknown): unknown => {
    if (!draws.has(key)) draws.set(key, draw());
    return draws.get(key);
  };
  return {
    builtins: {
      // An ArrayBuffer is taken by the SDK as JSON text: it keeps all 19 digits exact.
      'time.now_ns': () => encoder.encode(now().toString()).buffer,
      'io.jwt.decode_verify': (jwt: unknown, constraints: unknown) => decodeVerify(jwt, constraints, now),
      'io.jwt.encode_sign': (h: unknown, p: unknown, k: unknown) => encodeSign(h, p, k),
      'io.jwt.encode_sign_raw': (h: unknown, p: unknown, k: unknown) => encodeSignRaw(h, p, k),
      'crypto.x509.parse_certificates': (certs: unknown) => parseCertificates(certs),
      'crypto.x509.parse_and_verify_certificates': (certs: unknown) => parseAndVerifyCertificates(certs, Number(now() / 1_000_000n)),
      'crypto.x509.parse_rsa_private_key': (pem: unknown) => parseRsaPrivateKey(pem),
      'crypto.parse_private_keys': (pem: unknown) => parsePrivateKeys(pem),
      'crypto.x509.parse_keypair': (cert: unknown, key: unknown) => parseKeypair(cert, key),
      'crypto.x509.parse_certificate_request': (csr: unknown) => parseCertificateRequest(csr),
      'providers.aws.sign_req': (req: unknown, config: unknown, timeNs: unknown) => signAwsRequest(req, config, timeNs),
      'strings.render_template': (template: unknown, vars: unknown) => renderTemplate(template, vars),
      'json.match_schema': (document: unknown, schema: unknown) => matchSchema(document, schema),
      'json.verify_schema': (schema: unknown) => verifySchema(schema),
      // Policies see no process environment or configuration: a gate's
      // decisions depend on the bundle and the input alone. `{}` is what
      // OPA answers when it has no runtime information.
      'opa.runtime': () => ({}),
      ...Object.fromEntries(
        PUBLIC_KEY_ALGS.map((alg) => [`io.jwt.verify_${alg.toLowerCase()}`, (jwt: unknown, cert: unknown) => verifyWith(alg, jwt, cert)]),
      ),
      'rand.intn': (seed: unknown, n: unknown) => {
        if (typeof seed !== 'string') throw new TypeError('rand.intn: operand 1 must be string');
        if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError('rand.intn: operand 2 must be an integer');
        const bound = Math.abs(n);
        return once(`rand.intn\u0000${seed}\u0000${bound}`, () => (bound === 0 ? 0 : randomInt(Math.min(bound, 2 ** 48 - 1))));
      },
      'uuid.rfc4122': (seed: unknown) => {
        if (typeof seed !== 'string') throw new TypeError('uuid.rfc4122: operand 1 must be string');
        return once(`uuid.rfc4122\u0000${seed}`, () => randomUUID());
      },
    },
    beginEvaluation(nowNs?: bigint) {
      fixed = nowNs ?? clock();
      draws = new Map();
    },
  };
}
