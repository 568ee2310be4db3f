import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseClientHello, tlsAlert } from '../../src/capture/client-hello.ts';

/** The first bytes a real Node TLS client sends, caught by a plain TCP server. */
async function clientHelloBytes(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const got = new Promise<Buffer>((resolve) =>
    server.once('connection', (s) => {
      s.once('data', (c: Buffer) => {
        resolve(c);
        s.destroy();
      });
    }),
  );
  const client = tlsConnect({ host: '127.0.0.1', port, ...(servername !== undefined ? { servername } : {}), rejectUnauthorized: false });
  client.on('error', () => undefined);
  const bytes = await got;
  client.destroy();
  server.close();
  return bytes;
}

/** The same handshake message split over two TLS records, as a large ClientHello is. */
function twoRecords(hello: Buffer): Buffer {
  const body = hello.subarray(5);
  const cut = 40;
  const record = (b: Buffer): Buffer => Buffer.concat([Buffer.from([22, 3, 1, b.length >> 8, b.length & 0xff]), b]);
  return Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))]);
}

test('the SNI of a real ClientHello is read, in one record or split over two', async () => {
  const hello = await clientHelloBytes('Tool.Example.test');
  assert.deepEqual(parseClientHello(hello), { kind: 'hello', serverName: 'tool.example.test' });
  assert.deepEqual(parseClientHello(twoRecords(hello)), { kind: 'hello', serverName: 'tool.example.test' });
  // Every strict prefix asks for more; none is mistaken for a whole ClientHello.
  for (const data of [hello, twoRecords(hello)]) {
    for (let n = 0; n < data.length; n += 7) assert.equal(parseClientHello(data.subarray(0, n)).kind, 'incomplete', `prefix of ${n}`);
  }
});

test('a ClientHello without SNI (a client connecting by address) has no server name', async () => {
  const hello = await clientHelloBytes(undefined);
  assert.deepEqual(parseClientHello(hello), { kind: 'hello', serverName: undefined });
});

test('bytes that are not a TLS handshake, or a malformed one, are not TLS', async () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).kind, 'not-tls');
  assert.equal(parseClientHello(Buffer.from([22, 3, 1, 0, 0])).kind, 'not-tls');
  const hello = await clientHelloBytes('tool.test');
  // A ServerHello type where the ClientHello should be.
  const wrongType = Buffer.from(hello);
  wrongType[5] = 2;
  assert.equal(parseClientHello(wrongType).kind, 'not-tls');
  // The server_name list claims more bytes than there are.
  const at = hello.indexOf(Buffer.from('tool.test'));
  const bad = Buffer.from(hello);
  bad.writeUInt16BE(500, at - 2);
  assert.equal(parseClientHello(bad).kind, 'not-tls');
  // A name that is no DNS host name.
  const odd = Buffer.from(hello);
  odd.write('to/l.test', at, 'latin1');
  assert.equal(parseClientHello(odd).kind, 'not-tls');
});

test('a refusal is a fatal TLS alert record', () => {
  assert.deepEqual([...tlsAlert('access_denied')], [21, 3, 3, 0, 2, 2, 49]);
});
