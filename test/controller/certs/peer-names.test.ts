/**
 * The names a peer certificate carries, as Node's TLS socket reports them:
 * the subject CN and the DNS and URI alternative names, never an IP or email.
 * (A real handshake with a certificate of another name is refused in
 * test/e2e/controller-approval-proxy.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerCertificateNames } from '../../../src/controller/certs/peer-names.ts';

test('subject CN, DNS and URI SANs; IP addresses and emails are not names', () => {
  const cert = { subject: { CN: 'oauth2-proxy' }, subjectaltname: 'DNS:oauth2-proxy.auth.svc, IP Address:10.0.0.7, URI:spiffe://cluster.local/ns/auth/sa/oauth2-proxy, email:ops@example.com' } as any;
  assert.deepEqual(peerCertificateNames(cert), ['oauth2-proxy', 'oauth2-proxy.auth.svc', 'spiffe://cluster.local/ns/auth/sa/oauth2-proxy']);
});

test('no certificate, or one without CN or SANs, names nothing', () => {
  assert.deepEqual(peerCertificateNames(undefined), []);
  assert.deepEqual(peerCertificateNames({ subject: {}, subjectaltname: undefined } as any), []);
});
