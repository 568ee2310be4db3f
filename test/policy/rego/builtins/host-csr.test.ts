// crypto.x509.parse_certificate_request on the host: the subject of a
// PKCS #10 request (made for this test), from PEM, base64 PEM and base64 DER.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCertificateRequest } from '../../../../src/policy/rego/host-csr.ts';

const CSR = `-----BEGIN CERTIFICATE REQUEST-----
MIIBDzCBtQIBADBTMQswCQYDVQQGEwJERTEYMBYGA1UECgwPUG9ydGN1bGxpcyBU
ZXN0MQ0wCwYDVQQLDARHYXRlMRswGQYDVQQDDBJ0b29scy5leGFtcGxlLnRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARv8zUeDbrf5k8pncQ/L5Zjm1WV1nCN
IbRBDgXeLMrtM47UAXjC7YVvp2W9vwtYGucDN1b1N2za6eHZZLIfS3BBoAAwCgYI
KoZIzj0EAwIDSQAwRgIhANFpmrLLEOJ3e53JIBGiDM8ftUwi/vdR/EipPrOQ2Cc3
AiEA1nA7LaIuLcZXHCtJkEOPhtE3ABhmvIRn7skqwicUG54=
-----END CERTIFICATE REQUEST-----`;

it('reads the subject of a certificate request in every encoding', () => {
  const der = Buffer.from(CSR.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64').toString('base64');
  for (const input of [CSR, Buffer.from(CSR).toString('base64'), der]) {
    const req = parseCertificateRequest(input) as { Subject: Record<string, unknown>; Raw: string };
    assert.equal(req.Subject.CommonName, 'tools.example.test');
    assert.deepEqual(req.Subject.Organization, ['Portcullis Test']);
    assert.deepEqual(req.Subject.OrganizationalUnit, ['Gate']);
    assert.deepEqual(req.Subject.Country, ['DE']);
    assert.equal(req.Raw, der);
  }
});

it('refuses what is not a request', () => {
  assert.throws(() => parseCertificateRequest('foobar!'), /illegal base64/);
  assert.throws(() => parseCertificateRequest(Buffer.from('badstring').toString('base64')), /asn1: structure error/);
});
