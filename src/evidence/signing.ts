/**
 * ed25519 signatures over ledger heads. A head statement names a position in
 * the chain; since each entry's hash covers every entry before it, one valid
 * signature vouches for the whole prefix. Anyone holding the public key can
 * then tell a rewritten ledger (signatures no longer match) from the real one,
 * and a cut one from a witnessed head (admin API, metrics) that it no longer
 * contains.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, PortcullisError } from '../errors.ts';

/** The bytes that are signed for the head at `seq` with entry hash `hash`. */
export function headStatement(seq: number, hash: string): Buffer {
  return Buffer.from(`portcullis-ledger-head:v1:${seq}:${hash}`, 'utf8');
}

/** `sha256:` fingerprint of a public key's SPKI DER form: names the key in heads and reports. */
export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return 'sha256:' + createHash('sha256').update(der).digest('hex');
}

export interface HeadSigner {
  readonly keyId: string;
  /** base64 signature of the head statement. */
  sign(seq: number, hash: string): string;
}

export function createHeadSigner(privateKeyPem: string | Buffer): HeadSigner {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.CONFIG, `ledger signing key is not a PEM private key: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PortcullisError(ErrorCodes.CONFIG, `ledger signing key must be ed25519, not ${String(key.asymmetricKeyType)}`);
  }
  const id = keyId(createPublicKey(key));
  return {
    keyId: id,
    sign: (seq, hash) => sign(null, headStatement(seq, hash), key).toString('base64'),
  };
}

export interface HeadVerifier {
  readonly keyId: string;
  verify(seq: number, hash: string, signature: string): boolean;
}

/** From a PEM public key (or a PEM private key, whose public half is used). */
export function createHeadVerifier(publicKeyPem: string | Buffer): HeadVerifier {
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.CONFIG, `not a PEM public key: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PortcullisError(ErrorCodes.CONFIG, `ledger public key must be ed25519, not ${String(key.asymmetricKeyType)}`);
  }
  return {
    keyId: keyId(key),
    verify: (seq, hash, signature) => {
      try {
        return verify(null, headStatement(seq, hash), key, Buffer.from(signature, 'base64'));
      } catch {
        return false;
      }
    },
  };
}

/**
 * A signer from `PORTCULLIS_LEDGER_SIGNING_KEY`, which holds either the PEM
 * text itself (`"$(cat keys/ledger-signing.key)"`, as docs/evidence.md shows,
 * or a Kubernetes secret exposed as a variable) or the path of a PEM file. A
 * value starting with a PEM armour line is the key; anything else is a path, so
 * neither form can be mistaken for the other. PortcullisError CONFIG says which
 * form was tried when it fails, without echoing key material.
 */
export async function loadHeadSigner(keyOrPath: string): Promise<HeadSigner> {
  if (isPemText(keyOrPath)) {
    try {
      return createHeadSigner(keyOrPath);
    } catch (e) {
      throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_LEDGER_SIGNING_KEY holds PEM text that is not usable: ${(e as Error).message}`, { form: 'pem' }, { cause: e });
    }
  }
  let pem: Buffer;
  try {
    pem = await readFile(keyOrPath);
  } catch (e) {
    throw new PortcullisError(
      ErrorCodes.CONFIG,
      `cannot read the ledger signing key file ${keyOrPath} (PORTCULLIS_LEDGER_SIGNING_KEY is PEM text or the path of a PEM file): ${(e as Error).message}`,
      { file: keyOrPath, form: 'path' },
      { cause: e },
    );
  }
  return createHeadSigner(pem);
}

function isPemText(value: string): boolean {
  return value.trimStart().startsWith('-----BEGIN ');
}

/** A new ed25519 key pair as PEM (PKCS#8 private, SPKI public) and its key ID. */
export function generateSigningKeys(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyId(publicKey),
  };
}
