// JWT signing and verification on the host (node:crypto): round trips for
// every algorithm family, claim checks, key sets and malformed tokens.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { decodeVerify, encodeSign, encodeSignRaw, verifyWith } from '../../../../src/policy/rego/host-jwt.ts';

const NOW = 1_700_000_000_000_000_000n;
const now = () => NOW;
const secret = Buffer.from('s3cret').toString('base64url');

function keyPair(type: 'rsa' | 'ec' | 'ed25519', namedCurve?: string) {
  const { publicKey, privateKey } =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : type === 'ec' ? generateKeyPairSync('ec', { namedCurve: namedCurve! }) : generateKeyPairSync('ed25519');
  return { pem: publicKey.export({ type: 'spki', format: 'pem' }) as string, jwk: publicKey.export({ format: 'jwk' }), priv: privateKey.export({ format: 'jwk' }) };
}

describe('host JWT builtins', () => {
  it('signs and verifies with HS, RS, PS, ES and EdDSA', () => {
    const rsa = keyPair('rsa');
    const ec = keyPair('ec', 'P-256');
    const ed = keyPair('ed25519');
    const claims = { iss: 'me', sub: 'agent' };
    const hs = encodeSign({ alg: 'HS256', typ: 'JWT' }, claims, { kty: 'oct', k: secret });
    assert.deepEqual(decodeVerify(hs, { secret: 's3cret' }, now), [true, { alg: 'HS256', typ: 'JWT' }, claims]);
    assert.deepEqual(decodeVerify(hs, { secret: 'wrong' }, now), [false, {}, {}]);
    for (const [alg, pair] of [['RS256', rsa], ['PS384', rsa], ['ES256', ec], ['EdDSA', ed]] as const) {
      const token = encodeSign({ alg }, claims, pair.priv);
      assert.equal((decodeVerify(token, { cert: pair.pem }, now) as unknown[])[0], true, alg);
      assert.deepEqual(decodeVerify(token, { cert: JSON.stringify({ keys: [rsa.jwk, ec.jwk, ed.jwk] }) }, now), [true, { alg }, claims], `${alg} via a key set`);
      assert.equal(verifyWith(alg, token, pair.pem), true);
      assert.equal((decodeVerify(token, { cert: pair.pem, alg: 'HS256' }, now) as unknown[])[0], false, `${alg} refused under another alg`);
    }
    assert.equal(verifyWith('RS256', encodeSign({ alg: 'RS256' }, claims, rsa.priv), keyPair('rsa').pem), false);
  });

  it('checks exp, nbf, iss and aud against the evaluation instant or the time constraint', () => {
    const sign = (claims: object) => encodeSign({ alg: 'HS256' }, claims, { kty: 'oct', k: secret });
    const secs = Number(NOW / 1_000_000_000n);
    const ok = (claims: object, extra: object = {}) => (decodeVerify(sign(claims), { secret: 's3cret', ...extra }, now) as unknown[])[0];
    assert.equal(ok({ exp: secs + 10 }), true);
    assert.equal(ok({ exp: secs - 10 }), false);
    assert.equal(ok({ nbf: secs + 10 }), false);
    assert.equal(ok({ nbf: secs + 10 }, { time: (secs + 20) * 1e9 }), true);
    assert.equal(ok({ iss: 'a' }, { iss: 'a' }), true);
    assert.equal(ok({}, { iss: 'a' }), false);
    assert.equal(ok({ aud: ['x', 'y'] }, { aud: 'y' }), true);
    assert.equal(ok({ aud: 'x' }), false);
    assert.throws(() => decodeVerify(sign({ exp: 'soon' }), { secret: 's3cret' }, now), /exp value must be a number/);
    assert.throws(() => decodeVerify(sign({}), { secret: 's3cret', bogus: 1 }, now), /unknown token validation constraint: bogus/);
  });

  it('refuses malformed tokens and payloads', () => {
    assert.throws(() => decodeVerify('abc', { secret: 'x' }, now), /no period separators/);
    assert.throws(() => decodeVerify('a.b', { secret: 'x' }, now), /must have 3 sections, found 2/);
    assert.throws(() => encodeSignRaw('{"typ":"JWT","alg":"HS256"}', 'not json', JSON.stringify({ kty: 'oct', k: secret })), /type is JWT but payload is not JSON/);
  });

  // Answers as `opa eval` (v1.22.4) gives them for the same tokens and keys.
  it('a crit header: unknown extensions make decode_verify invalid, a malformed crit is an error', () => {
    const rsa = keyPair('rsa');
    const claims = { sub: 'x' };
    const critical = encodeSign({ alg: 'RS256', crit: ['foo'], foo: 1 }, claims, rsa.priv);
    assert.deepEqual(decodeVerify(critical, { cert: rsa.pem }, now), [false, {}, {}]);
    const hs = encodeSign({ alg: 'HS256', crit: ['b64'], b64: true }, claims, { kty: 'oct', k: secret });
    assert.deepEqual(decodeVerify(hs, { secret: 's3cret' }, now), [false, {}, {}]);
    // verify_* judge the signature alone, whatever the extensions.
    assert.equal(verifyWith('RS256', critical, rsa.pem), true);
    const empty = encodeSign({ alg: 'RS256', crit: [] }, claims, rsa.priv);
    assert.throws(() => decodeVerify(empty, { cert: rsa.pem, alg: 'HS256' }, now), /io\.jwt\.decode_verify: crit: must be a nonempty list/);
    assert.throws(() => verifyWith('RS256', empty, rsa.pem), /io\.jwt\.verify_rs256: crit: must be a nonempty list/);
    assert.throws(() => decodeVerify(encodeSign({ alg: 'RS256', crit: 'foo' }, claims, rsa.priv), { cert: rsa.pem }, now), /crit: must be a list/);
  });

  it('a PEM block followed by anything, even whitespace or another block, is an error', () => {
    const rsa = keyPair('rsa');
    const token = encodeSign({ alg: 'RS256' }, { sub: 'x' }, rsa.priv);
    assert.equal(verifyWith('RS256', token, `junk before\n${rsa.pem}`), true);
    for (const extra of ['garbage', rsa.pem, '\n  \n']) {
      assert.throws(() => verifyWith('RS256', token, rsa.pem + extra), /io\.jwt\.verify_rs256: extra data after a PEM certificate block/);
      assert.throws(() => decodeVerify(token, { cert: rsa.pem + extra }, now), /io\.jwt\.decode_verify: extra data after a PEM certificate block/);
    }
  });
});
