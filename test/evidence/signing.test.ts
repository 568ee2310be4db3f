import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { createHeadVerifier, generateSigningKeys, loadHeadSigner } from '../../src/evidence/signing.ts';
import { isPortcullisError } from '../../src/errors.ts';

let dir: string;
const keys = generateSigningKeys();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-signing-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isPortcullisError(e) ? e.code : 'not a PortcullisError';
  }
}

describe('loadHeadSigner (PORTCULLIS_LEDGER_SIGNING_KEY)', () => {
  it('takes the PEM text itself, as docs/evidence.md shows', async () => {
    const signer = await loadHeadSigner(keys.privateKeyPem);
    assert.equal(signer.keyId, keys.keyId);
    const verifier = createHeadVerifier(keys.publicKeyPem);
    assert.equal(verifier.verify(3, 'sha256:ab', signer.sign(3, 'sha256:ab')), true);
  });

  it('takes PEM text with surrounding whitespace (a trailing newline from a secret)', async () => {
    const signer = await loadHeadSigner(`\n${keys.privateKeyPem}\n\n`);
    assert.equal(signer.keyId, keys.keyId);
  });

  it('takes the path of a PEM file', async () => {
    const file = join(dir, 'ledger-signing.key');
    await writeFile(file, keys.privateKeyPem);
    assert.equal((await loadHeadSigner(file)).keyId, keys.keyId);
  });

  it('refuses unusable PEM text, a missing file and a non-ed25519 key with PORTCULLIS_CONFIG', async () => {
    assert.equal(await configCode(loadHeadSigner('-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n')), 'PORTCULLIS_CONFIG');
    assert.equal(await configCode(loadHeadSigner(join(dir, 'missing.key'))), 'PORTCULLIS_CONFIG');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.equal(await configCode(loadHeadSigner(ec)), 'PORTCULLIS_CONFIG');
  });
});
