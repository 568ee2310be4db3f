/**
 * Signed bundles: an archive the controller signed reads back with its key;
 * one that is unsigned, signed by another key, changed after signing (a file
 * replaced, added or removed), or carrying a forged or doubled signature is
 * refused with PORTCULLIS_BUNDLE_SIGNATURE before anything in it is used.
 * Several trusted keys (a rotation) accept bundles of either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { readBundleArchive, writeBundleArchive } from '../../src/policy/bundle-archive.ts';
import { createBundleSigner, parseBundleVerificationKeys, SIGNATURES_PATH, verifyBundleSignature } from '../../src/policy/bundle-signing.ts';
import { packTarGz, unpackTarGz } from '../../src/policy/tar-gz.ts';
import { ErrorCodes, isPortcullisError } from '../../src/errors.ts';
import { echoBundle } from './echo-bundle.ts';

function keyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const refused = (why: RegExp) => (e: unknown) => isPortcullisError(e) && e.code === ErrorCodes.BUNDLE_SIGNATURE && why.test(e.message);

const ours = keyPair();
const signer = createBundleSigner(ours.privatePem);
const trusted = parseBundleVerificationKeys(ours.publicPem, 'PORTCULLIS_BUNDLE_PUBLIC_KEY');
const bundle = echoBundle({ limits: { amount: 5000 } });

async function repack(bytes: Uint8Array, change: (files: Map<string, Buffer>) => void): Promise<Uint8Array> {
  const files = await unpackTarGz(bytes);
  change(files);
  return packTarGz([...files].map(([name, content]) => ({ name, content })));
}

test('a signed archive reads back with the key that signed it, in OPA signing format', async () => {
  const bytes = await writeBundleArchive(bundle, { signer });
  const back = await readBundleArchive(bytes, { verificationKeys: trusted });
  assert.equal(back.digest, bundle.digest);
  // Deterministic: the same bundle and key give the same bytes (ed25519 signatures are).
  assert.deepEqual(Buffer.from(await writeBundleArchive(bundle, { signer })), Buffer.from(bytes));
  const files = await unpackTarGz(bytes);
  const { signatures } = JSON.parse(files.get(SIGNATURES_PATH)!.toString());
  assert.equal(signatures.length, 1);
  const [h, p] = (signatures[0] as string).split('.');
  assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg: 'EdDSA', kid: signer.keyId });
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
  assert.equal(payload.keyid, signer.keyId);
  assert.deepEqual(payload.files.map((f: any) => [f.name, f.algorithm]), [['.manifest', 'SHA-256'], ['data.json', 'SHA-256'], ['policy.wasm', 'SHA-256']]);
  // Without keys the signature is not needed (a policy folder, portcullis eval), and does not get in the way.
  assert.equal((await readBundleArchive(bytes)).digest, bundle.digest);
});

test('an unsigned archive is refused when keys are required', async () => {
  await assert.rejects(readBundleArchive(await writeBundleArchive(bundle), { verificationKeys: trusted }), refused(/not signed/));
});

test('an archive signed by another key is refused, naming the key', async () => {
  const other = createBundleSigner(keyPair().privatePem);
  await assert.rejects(readBundleArchive(await writeBundleArchive(bundle, { signer: other }), { verificationKeys: trusted }), refused(new RegExp(`signed by key ${other.keyId}.*does not trust`)));
});

test('a signature copied onto another key ID, or forged bytes, does not verify', async () => {
  const other = keyPair();
  const bytes = await writeBundleArchive(bundle, { signer: createBundleSigner(other.privatePem) });
  const files = await unpackTarGz(bytes);
  const [, p, s] = (JSON.parse(files.get(SIGNATURES_PATH)!.toString()).signatures[0] as string).split('.');
  // The header claims our key; the signature is the other key's.
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: signer.keyId })).toString('base64url');
  const forged = await repack(bytes, (f) => f.set(SIGNATURES_PATH, Buffer.from(JSON.stringify({ signatures: [`${header}.${p}.${s}`] }))));
  await assert.rejects(readBundleArchive(forged, { verificationKeys: trusted }), refused(/does not verify/));
  const none = Buffer.from(JSON.stringify({ alg: 'none', kid: signer.keyId })).toString('base64url');
  const algNone = await repack(bytes, (f) => f.set(SIGNATURES_PATH, Buffer.from(JSON.stringify({ signatures: [`${none}.${p}.`] }))));
  await assert.rejects(readBundleArchive(algNone, { verificationKeys: trusted }), refused(/algorithm "none"/));
});

test('a tampered archive is refused: a file changed, added or removed after signing', async () => {
  const bytes = await writeBundleArchive(bundle, { signer });
  const data = await repack(bytes, (f) => f.set('/data.json', Buffer.from('{"limits":{"amount":999999}}')));
  await assert.rejects(readBundleArchive(data, { verificationKeys: trusted }), refused(/data\.json does not match its signed hash/));
  const added = await repack(bytes, (f) => f.set('/extra.rego', Buffer.from('package x')));
  await assert.rejects(readBundleArchive(added, { verificationKeys: trusted }), refused(/extra\.rego is in the archive but not signed/));
  const removed = await repack(bytes, (f) => f.delete('/data.json'));
  await assert.rejects(readBundleArchive(removed, { verificationKeys: trusted }), refused(/missing from the archive: data\.json/));
  const doubled = await repack(bytes, (f) => {
    const sigs = JSON.parse(f.get(SIGNATURES_PATH)!.toString()).signatures;
    f.set(SIGNATURES_PATH, Buffer.from(JSON.stringify({ signatures: [...sigs, ...sigs] })));
  });
  await assert.rejects(readBundleArchive(doubled, { verificationKeys: trusted }), refused(/exactly one signature/));
});

test('key rotation: with both keys trusted, bundles of either load; dropping the old key refuses its bundles', async () => {
  const next = keyPair();
  const both = parseBundleVerificationKeys(`${ours.publicPem}${next.publicPem}`, 'PORTCULLIS_BUNDLE_PUBLIC_KEY');
  assert.equal(both.length, 2);
  const old = await writeBundleArchive(bundle, { signer });
  const renewed = await writeBundleArchive(bundle, { signer: createBundleSigner(next.privatePem) });
  const files = async (b: Uint8Array) => new Map([...(await unpackTarGz(b))].map(([k, v]) => [k, new Uint8Array(v)]));
  assert.equal(verifyBundleSignature(await files(old), both), signer.keyId);
  assert.equal(verifyBundleSignature(await files(renewed), both), both[1]!.keyId);
  const onlyNext = parseBundleVerificationKeys(next.publicPem, 'K');
  await assert.rejects(readBundleArchive(old, { verificationKeys: onlyNext }), refused(/does not trust/));
});

/** The archive re-signed by `privatePem` with a JWS whose header and payload the test chooses. */
async function resigned(bytes: Uint8Array, privatePem: string, header: Record<string, unknown>, keyid: string | undefined): Promise<Uint8Array> {
  return repack(bytes, (f) => {
    const p0 = (JSON.parse(f.get(SIGNATURES_PATH)!.toString()).signatures[0] as string).split('.')[1]!;
    const listed = JSON.parse(Buffer.from(p0, 'base64url').toString()).files;
    const h = Buffer.from(JSON.stringify(header)).toString('base64url');
    const p = Buffer.from(JSON.stringify(keyid === undefined ? { files: listed } : { files: listed, keyid })).toString('base64url');
    const s = sign(null, Buffer.from(`${h}.${p}`, 'ascii'), createPrivateKey(privatePem)).toString('base64url');
    f.set(SIGNATURES_PATH, Buffer.from(JSON.stringify({ signatures: [`${h}.${p}.${s}`] })));
  });
}

test('a signature that names no key is tried against every trusted key: accepted when one of them signed, refused otherwise', async () => {
  const other = keyPair();
  const both = parseBundleVerificationKeys(`${other.publicPem}${ours.publicPem}`, 'K');
  const bytes = await writeBundleArchive(bundle, { signer });
  const anonymous = await resigned(bytes, ours.privatePem, { alg: 'EdDSA' }, undefined);
  const back = await readBundleArchive(anonymous, { verificationKeys: both });
  assert.equal(back.digest, bundle.digest);
  const byStranger = await resigned(bytes, keyPair().privatePem, { alg: 'EdDSA' }, undefined);
  await assert.rejects(readBundleArchive(byStranger, { verificationKeys: both }), refused(/does not verify with any trusted key/));
});

test('a payload that names another key than the one that signed is refused, even when both are trusted', async () => {
  const other = keyPair();
  const otherId = createBundleSigner(other.privatePem).keyId;
  const both = parseBundleVerificationKeys(`${ours.publicPem}${other.publicPem}`, 'K');
  const bytes = await writeBundleArchive(bundle, { signer });
  const mismatched = await resigned(bytes, ours.privatePem, { alg: 'EdDSA', kid: signer.keyId }, otherId);
  await assert.rejects(readBundleArchive(mismatched, { verificationKeys: both }), refused(/names another key than the one that signed it/));
  // The header's kid names the key; without one, the payload's keyid does.
  const viaPayload = await resigned(bytes, ours.privatePem, { alg: 'EdDSA' }, otherId);
  await assert.rejects(readBundleArchive(viaPayload, { verificationKeys: both }), refused(new RegExp(`does not verify with key ${otherId}`)));
});

test('verification keys: PEM text of ed25519 public keys only', () => {
  const config = (e: unknown) => isPortcullisError(e) && e.code === ErrorCodes.CONFIG;
  assert.throws(() => parseBundleVerificationKeys('/etc/portcullis/bundle.pub', 'K'), config);
  assert.throws(() => parseBundleVerificationKeys('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----', 'K'), config);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  assert.throws(() => parseBundleVerificationKeys(rsa, 'K'), (e) => config(e) && /ed25519/.test((e as Error).message));
  assert.throws(() => createBundleSigner(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), config);
});
