// X.509 and private-key parsing on the host (node:crypto), on a small test
// PKI made for these tests (an EC root valid until 2125 and a leaf it signed).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAndVerifyCertificates, parseCertificates, parseKeypair, parsePrivateKeys, parseRsaPrivateKey } from '../../../../src/policy/rego/host-x509.ts';

const ROOT = `-----BEGIN CERTIFICATE-----
MIIByjCCAW+gAwIBAgIUFTqjr5ZrgCI5i6SZe2O4q1+050cwCgYIKoZIzj0EAwIw
OTEYMBYGA1UECgwPUG9ydGN1bGxpcyBUZXN0MR0wGwYDVQQDDBRQb3J0Y3VsbGlz
IFRlc3QgUm9vdDAgFw0yNjExMjQxMjA0MTBaGA8yMTI2MTAzMTEyMDQxMFowOTEY
MBYGA1UECgwPUG9ydGN1bGxpcyBUZXN0MR0wGwYDVQQDDBRQb3J0Y3VsbGlzIFRl
c3QgUm9vdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHdAbizBvBDSs5l+yDM0
a0WVNTH2g774OmagBM4BE3XiBGwgIJhFW7kpUDq7FO2N6ScDhjcr7+eRRuFdO2re
T3KjUzBRMB0GA1UdDgQWBBQpXaHhVJZ0l413Osro1K7nGyQ26DAfBgNVHSMEGDAW
gBQpXaHhVJZ0l413Osro1K7nGyQ26DAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0kAMEYCIQDvnnwXJPQBvUHuO4HsxaKLrWlbvrkT2GNt5Cq4XsvjfAIhAPF5
OjCkW3lB6TuaB8I4iTeGM7ZHYBGlqFqH3DjWKdhX
-----END CERTIFICATE-----`;
const LEAF = `-----BEGIN CERTIFICATE-----
MIIB5DCCAYugAwIBAgIUK3kkiLcWN26qf9Nii5ksL0EyxoswCgYIKoZIzj0EAwIw
OTEYMBYGA1UECgwPUG9ydGN1bGxpcyBUZXN0MR0wGwYDVQQDDBRQb3J0Y3VsbGlz
IFRlc3QgUm9vdDAgFw0yNjExMjQxMjA0MTBaGA8yMTI2MTAzMTEyMDQxMFowHTEb
MBkGA1UEAwwSdG9vbHMuZXhhbXBsZS50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEb/M1Hg263+ZPKZ3EPy+WY5tVldZwjSG0QQ4F3izK7TOO1AF4wu2Fb6dl
vb8LWBrnAzdW9Tds2unh2WSyH0twQaOBijCBhzA6BgNVHREEMzAxghJ0b29scy5l
eGFtcGxlLnRlc3SGG3NwaWZmZTovL2V4YW1wbGUudGVzdC9hZ2VudDAJBgNVHRME
AjAAMB0GA1UdDgQWBBSj8CRWH5GXpX/hJ96EoxNj+Y2OKTAfBgNVHSMEGDAWgBQp
XaHhVJZ0l413Osro1K7nGyQ26DAKBggqhkjOPQQDAgNHADBEAiAsAVohxKeGRy1z
NKgfMh7IW+kZ4jhqgQgfUG9v2JrJRAIgZYOZdTq++Abqw2Q9OEyQ2VG9d8IvP+pg
q3cbhGZXGmU=
-----END CERTIFICATE-----`;
const RSA_KEY = `-----BEGIN PRIVATE KEY-----
MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAKAkoiozPYCh5cvi
hbNwMkeettpiEcCN2V1z963suYayIyjCwHHo0x8NuaU2uycd0duEfRKouSu7MtuN
NrdY0nbwVBqhOEDcw66eTIrs9QWycuZo0YOkLNLYEI2dRe8u9ghvv5RWzWk9jc/2
b8l+3gF2spBSoAAElMU0ayJs977HAgMBAAECgYAihcMvtbwcbspLGZoZBKbSKbTh
fyK0j9+79bP/GnkkQGKz9sflxns8xoiuxQ2zcQo8eGM+EoFYnBJqohaZj9xO0ERu
9KVtenqjtld0RlnMEoEbgxQW7J8W06P5r2+g4WxCV61Oz+YH1lDmaArf7acD6m3m
4OfitcFiimJKL2DVAQJBANItEFZkFtreVTJ5YfEbpTN0IkBImW6cc1G5tLTpV9gu
/F+23zYn7N+PmYSL2fOCXMKLTyvh6BcIr4WBGKNPUs8CQQDDDv2pQ3SEyv/RYnp9
xL+oNwv7mrVuR4piMX74bbDVPBtba3PyK95tM1Pa0Ya6fT7qVeh1CyWY0O99ikgX
KDKJAkA4v2Ac41Nkbwlz4mA2eG9ncCDbWH7M5cMhOtH20tYcEbukoDyuY6NKTXx2
1EfZvsYK5RBQWeOPbJHvqwaa+YzzAkBWWs6mHvz4xT5YHncIMxB+klA1xZpJBlcX
fb4ukbFV1dRutrWQIyfHxI99MoGpEkXGTN4q4xJ0AxvjwlKEHgGxAkBRhE6WduMK
IITLcfHpjkvQdcqxEcXp0DMc0m7JrKiIo/xrdU9DtfzHNijK9URwvNR55ggnBsBq
7gi4Gp0O/jxX
-----END PRIVATE KEY-----`;
const LEAF_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqNlrc7yxHwelmJCf
wMOkYQUcNRNrW/WXTTP1zE157YShRANCAARv8zUeDbrf5k8pncQ/L5Zjm1WV1nCN
IbRBDgXeLMrtM47UAXjC7YVvp2W9vwtYGucDN1b1N2za6eHZZLIfS3BB
-----END PRIVATE KEY-----`;
const NOW = Date.parse('2030-01-01T00:00:00Z');

it('parses certificates from PEM, base64 PEM and base64 DER chains', () => {
  const pem = `${ROOT}\n${LEAF}`;
  const der = Buffer.concat([ROOT, LEAF].map((p) => Buffer.from(p.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'))).toString('base64');
  for (const input of [pem, Buffer.from(pem).toString('base64'), der]) {
    const certs = parseCertificates(input) as Array<Record<string, any>>;
    assert.deepEqual(certs.map((c) => c.Subject.CommonName), ['Portcullis Test Root', 'tools.example.test']);
  }
  const leaf = (parseCertificates(LEAF) as Array<Record<string, any>>)[0]!;
  assert.deepEqual(leaf.DNSNames, ['tools.example.test']);
  assert.deepEqual(leaf.URIStrings, ['spiffe://example.test/agent']);
  assert.equal(leaf.URIs[0].Scheme, 'spiffe');
  assert.equal(leaf.Issuer.CommonName, 'Portcullis Test Root');
  assert.deepEqual(leaf.Issuer.Organization, ['Portcullis Test']);
  assert.equal(leaf.EmailAddresses, null);
  assert.throws(() => parseCertificates('not base64!'), /illegal base64/);
});

it('verifies a chain given root first and returns it leaf first', () => {
  const [valid, chain] = parseAndVerifyCertificates(`${ROOT}\n${LEAF}`, NOW) as [boolean, Array<Record<string, any>>];
  assert.equal(valid, true);
  assert.deepEqual(chain.map((c) => c.Subject.CommonName), ['tools.example.test', 'Portcullis Test Root']);
  assert.deepEqual(parseAndVerifyCertificates(`${LEAF}\n${ROOT}`, NOW), [false, []]);
  assert.deepEqual(parseAndVerifyCertificates(LEAF, NOW), [false, []]);
  assert.deepEqual(parseAndVerifyCertificates(`${ROOT}\n${LEAF}`, Date.parse('2200-01-01T00:00:00Z')), [false, []]);
});

it('parses RSA and other private keys into JWKs', () => {
  const jwk = parseRsaPrivateKey(RSA_KEY) as Record<string, string>;
  assert.equal(jwk.kty, 'RSA');
  assert.ok(jwk.d && jwk.n && jwk.qi);
  assert.equal((parsePrivateKeys(`${RSA_KEY}\n${RSA_KEY}`) as unknown[]).length, 2);
  assert.deepEqual(parsePrivateKeys('nope'), []);
  assert.equal(parsePrivateKeys(''), null);
});

it('parses a key pair and refuses a key of another certificate', () => {
  const pair = parseKeypair(Buffer.from(LEAF).toString('base64'), LEAF_KEY) as { Certificate: string[] };
  assert.equal(pair.Certificate.length, 1);
  assert.equal(pair.Certificate[0], Buffer.from(LEAF.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64').toString('base64'));
  assert.throws(() => parseKeypair(ROOT, LEAF_KEY), /private key does not match/);
});
