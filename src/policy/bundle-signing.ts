/**
 * Signed bundles (design.md §6): the controller signs every archive it serves
 * and the sidecar loads only one that a key it was given at injection signed,
 * so a bundle injected on the path, or replaced on the sidecar's volume, is
 * refused. The format is OPA's bundle signing format: a `/.signatures.json`
 * file `{"signatures": ["<JWS compact>"]}` whose payload lists every other
 * file of the archive with its SHA-256 (`{"files": [{"name", "hash",
 * "algorithm": "SHA-256"}], "keyid"}`). The signature is Ed25519 (JWS
 * `alg: EdDSA`, RFC 8037), which OPA's own verifier does not offer; hashes are
 * over the file's bytes as archived (Portcullis writes its JSON files in
 * canonical form already). Every file must be listed, none listed may be
 * missing, and exactly one signature is accepted.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { keyId } from '../evidence/signing.ts';
import { jwsPart, readJwsPart } from './jws.ts';

export const SIGNATURES_PATH = '/.signatures.json';

export interface BundleSigner {
  /** `sha256:<hex>` of the public key's SPKI DER (the JWS `kid` and the payload's `keyid`). */
  readonly keyId: string;
  /** The `/.signatures.json` content for these files (names as archived, with a leading `/`). */
  signatures(files: ReadonlyMap<string, Uint8Array>): Uint8Array;
  /** A raw Ed25519 signature of `data` by the same key (verdict attestations, src/gate/verdict-attestation.ts). */
  sign(data: Uint8Array): Uint8Array;
}

export interface BundleVerificationKey {
  readonly keyId: string;
  readonly key: KeyObject;
}

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** OPA lists names without the leading slash. */
const listedName = (archived: string): string => archived.replace(/^\/+/, '');

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PortcullisError(ErrorCodes.CONFIG, `${what} must be an ed25519 key, not ${String(key.asymmetricKeyType)}`);
  }
  return key;
}

/** A signer from a PEM (PKCS#8) ed25519 private key. */
export function createBundleSigner(privateKeyPem: string): BundleSigner {
  let key: KeyObject;
  try {
    key = ed25519(createPrivateKey(privateKeyPem), 'the bundle signing key');
  } catch (e) {
    if (e instanceof PortcullisError) throw e;
    throw new PortcullisError(ErrorCodes.CONFIG, `the bundle signing key is not a PEM private key: ${(e as Error).message}`, undefined, { cause: e });
  }
  const id = keyId(createPublicKey(key));
  return {
    keyId: id,
    signatures(files) {
      const listed = [...files.entries()]
        .filter(([name]) => name !== SIGNATURES_PATH)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, content]) => ({ name: listedName(name), hash: sha256Hex(content), algorithm: 'SHA-256' }));
      const header = jwsPart({ alg: 'EdDSA', kid: id });
      const payload = jwsPart({ files: listed, keyid: id });
      const signature = b64url(sign(null, Buffer.from(`${header}.${payload}`, 'ascii'), key));
      return new TextEncoder().encode(JSON.stringify({ signatures: [`${header}.${payload}.${signature}`] }));
    },
    sign: (data) => sign(null, data, key),
  };
}

const PEM_PUBLIC_KEY = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

/**
 * The keys in PEM text holding one or more `PUBLIC KEY` blocks (several while a
 * key is rotated: bundles signed by either are accepted). Throws CONFIG, naming
 * `setting`, for text that holds none or a key that is not ed25519.
 */
export function parseBundleVerificationKeys(pem: string, setting: string): BundleVerificationKey[] {
  const blocks = pem.match(PEM_PUBLIC_KEY) ?? [];
  if (blocks.length === 0) throw new PortcullisError(ErrorCodes.CONFIG, `${setting} holds no -----BEGIN PUBLIC KEY----- block (expected PEM text of ed25519 public keys, not a file path)`, { setting });
  return blocks.map((block) => {
    let key: KeyObject;
    try {
      key = createPublicKey(block);
    } catch (e) {
      throw new PortcullisError(ErrorCodes.CONFIG, `${setting}: a public key does not parse (${(e as Error).message})`, { setting }, { cause: e });
    }
    ed25519(key, setting);
    return { keyId: keyId(key), key };
  });
}

function refuse(problem: string, details?: Record<string, unknown>): PortcullisError {
  return new PortcullisError(ErrorCodes.BUNDLE_SIGNATURE, `bundle signature: ${problem}`, details);
}

/** The one JWS of `/.signatures.json`; throws BUNDLE_SIGNATURE when there is none or more. */
function theSignature(files: ReadonlyMap<string, Uint8Array>): string {
  const raw = files.get(SIGNATURES_PATH);
  if (!raw) throw refuse(`the bundle is not signed (no ${SIGNATURES_PATH})`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw refuse(`${SIGNATURES_PATH} is not JSON`);
  }
  const list = (doc as { signatures?: unknown } | null)?.signatures;
  if (!Array.isArray(list) || list.length !== 1 || typeof list[0] !== 'string') throw refuse(`${SIGNATURES_PATH} must hold exactly one signature`);
  return list[0];
}

/** The signed payload's `files` as name → SHA-256 hex. */
function signedHashes(listed: unknown): Map<string, string> {
  if (!Array.isArray(listed)) throw refuse('the signed payload lists no files');
  const expected = new Map<string, string>();
  for (const f of listed as ({ name?: unknown; hash?: unknown; algorithm?: unknown } | null)[]) {
    const entry = f ?? {};
    if (typeof entry.name !== 'string' || typeof entry.hash !== 'string' || entry.algorithm !== 'SHA-256') throw refuse('a signed file entry needs name, hash and algorithm SHA-256');
    if (expected.has(entry.name)) throw refuse(`${entry.name} is listed twice`);
    expected.set(entry.name, entry.hash);
  }
  return expected;
}

/** Every archived file but the signatures is listed with its hash, and nothing else is. */
function checkFiles(files: ReadonlyMap<string, Uint8Array>, listed: unknown): void {
  const expected = signedHashes(listed);
  for (const [name, content] of files) {
    if (name === SIGNATURES_PATH) continue;
    const want = expected.get(listedName(name));
    if (want === undefined) throw refuse(`${name} is in the archive but not signed`);
    if (want !== sha256Hex(content)) throw refuse(`${name} does not match its signed hash (the archive was changed after signing)`, { file: name });
    expected.delete(listedName(name));
  }
  const missing = [...expected.keys()];
  if (missing.length > 0) throw refuse(`signed files missing from the archive: ${missing.join(', ')}`);
}

/** The key ID a JWS names: its header's `kid`, else the payload's `keyid`. */
function namedKey(header: Record<string, unknown>, payload: Record<string, unknown>): string | undefined {
  if (typeof header.kid === 'string') return header.kid;
  return typeof payload.keyid === 'string' ? payload.keyid : undefined;
}

/**
 * Checks the archive's files against its `/.signatures.json` and `keys`; returns
 * the key ID that signed. Throws BUNDLE_SIGNATURE for an unsigned archive, a
 * signature by a key not in `keys` or that does not verify, or files that differ
 * from what was signed.
 */
export function verifyBundleSignature(files: ReadonlyMap<string, Uint8Array>, keys: readonly BundleVerificationKey[]): string {
  const jws = theSignature(files);
  const parts = jws.split('.');
  if (parts.length !== 3) throw refuse('the signature is not a JWS in compact form');
  const [h, p, s] = parts as [string, string, string];
  const header = readJwsPart(h, 'JWS header', refuse);
  if (header.alg !== 'EdDSA') throw refuse(`signature algorithm ${JSON.stringify(header.alg)} is not accepted (EdDSA only)`);
  const payload = readJwsPart(p, 'JWS payload', refuse);
  const kid = namedKey(header, payload);
  // With a key ID, that key; without one, any of the trusted keys may have signed.
  const candidates = kid ? keys.filter((k) => k.keyId === kid) : keys;
  if (candidates.length === 0) throw refuse(`signed by key ${kid}, which this sidecar does not trust (it trusts ${keys.map((k) => k.keyId).join(', ') || 'no key'})`, { keyId: kid });
  const signed = Buffer.from(`${h}.${p}`, 'ascii');
  const sig = Buffer.from(s, 'base64url');
  const by = candidates.find((k) => verify(null, signed, k.key, sig));
  if (!by) throw refuse(`the signature does not verify with ${kid ? `key ${kid}` : 'any trusted key'}`, { keyId: kid });
  if (payload.keyid !== undefined && payload.keyid !== by.keyId) throw refuse('the signed payload names another key than the one that signed it');
  checkFiles(files, payload.files);
  return by.keyId;
}
