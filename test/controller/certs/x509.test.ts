import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateServingCertificate, serviceDnsNames } from '../../../src/controller/certs/x509.ts';

const made = generateServingCertificate({ dnsNames: serviceDnsNames('portcullis-controller', 'portcullis-system'), ipAddresses: ['127.0.0.1'] });

test('the CA is a CA, the serving certificate is not, and the CA signed it', () => {
  const ca = new X509Certificate(made.caPem);
  assert.equal(ca.ca, true);
  assert.equal(made.cert.ca, false);
  assert.ok(made.cert.checkIssued(ca));
  assert.ok(made.cert.verify(ca.publicKey));
  assert.match(made.cert.subjectAltName!, /DNS:portcullis-controller\.portcullis-system\.svc/);
  assert.match(made.cert.subjectAltName!, /IP Address:127\.0\.0\.1/);
  assert.deepEqual(made.cert.keyUsage ?? ['1.3.6.1.5.5.7.3.1'], ['1.3.6.1.5.5.7.3.1']);
});

async function handshake(servername: string, ca: string): Promise<string> {
  const server = createServer({ cert: made.certPem, key: made.keyPem }, (_q, s) => s.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca, servername }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
  } finally {
    server.close();
  }
}

test('a TLS client that trusts only the CA accepts the service name and refuses others', async () => {
  assert.equal(await handshake('portcullis-controller.portcullis-system.svc', made.caPem), 'ok');
  await assert.rejects(handshake('elsewhere.example', made.caPem), /altnames|Hostname/);
  const other = generateServingCertificate({ dnsNames: ['x.y.svc'] });
  await assert.rejects(handshake('portcullis-controller.portcullis-system.svc', other.caPem), /self.signed|unable to verify|certificate/i);
});
