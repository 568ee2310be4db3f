/**
 * What flows through an allowed CONNECT tunnel: a TLS handshake is relayed
 * unread; everything else is read as HTTP and each request in it decided, so
 * no spelling of a plain request passes undecided. Checked against what the
 * upstreams themselves received.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startUpstream, startSidecar, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { ErrorCodes } from '../../src/errors.ts';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
let raw: Server;
let rawPort: number;
const rawReceived: Buffer[] = [];

before(async () => {
  upstream = await startUpstream();
  // A TCP peer that records every byte: stands in for a TLS server, and shows what non-HTTP bytes reached.
  raw = createServer((s) => s.on('data', (c: Buffer) => (rawReceived.push(c), raw.emit('bytes'))).on('error', () => undefined));
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  rawPort = (raw.address() as AddressInfo).port;
  recorder = memoryRecorder();
  const policy = (i: any): unknown =>
    i.action.type === 'http' && String(i.action.http.path).startsWith('/admin') ? { effect: 'deny', reason: 'admin is off limits' } : { effect: 'allow', reason: 'ok' };
  sidecar = await startSidecar({ engine: functionEngine(policy), recorder });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
  raw.close();
});

/**
 * Opens a tunnel, then writes each chunk; resolves with all the sidecar sent
 * back after the 200. `head` goes in the same write as the CONNECT request, so
 * the sidecar holds exactly those bytes when the tunnel opens: a split it
 * cannot merge, whatever the kernel does with later writes.
 */
async function throughTunnel(port: number, chunks: Array<string | Buffer>, head = ''): Promise<string> {
  const s: Socket = connect(sidecar.port, '127.0.0.1');
  s.setNoDelay(true);
  await once(s, 'connect');
  s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n${head}`);
  const [established] = (await once(s, 'data')) as [Buffer];
  assert.match(established.toString('latin1'), /^HTTP\/1\.1 200 /);
  let reply = '';
  s.on('data', (c: Buffer) => (reply += c.toString('latin1')));
  for (const chunk of chunks) await new Promise<void>((r, j) => s.write(chunk, (e) => (e ? j(e) : r())));
  await once(s, 'close');
  return reply;
}

const host = (): string => `127.0.0.1:${upstream.port}`;

for (const [name, chunks, head] of [
  ['split across writes', () => [`ET /admin/x HTTP/1.1\r\nhost: ${host()}\r\nconnection: close\r\n\r\n`], 'G'],
  ['led by a CRLF', () => [`\r\nGET /admin/y HTTP/1.1\r\nhost: ${host()}\r\nconnection: close\r\n\r\n`], ''],
  ['with an unusual method', () => [`M-SEARCH /admin/z HTTP/1.1\r\nhost: ${host()}\r\nconnection: close\r\n\r\n`], ''],
] as Array<[string, () => string[], string]>) {
  test(`a plain request in a tunnel ${name} is decided, and a denied one never arrives`, async () => {
    const reply = await throughTunnel(upstream.port, chunks(), head);
    assert.match(reply, /^HTTP\/1\.1 403 /);
    assert.match(reply, new RegExp(ErrorCodes.DENIED));
    assert.ok(!upstream.log.some((a) => a.url.startsWith('/admin')), 'nothing under /admin reached the upstream');
    assert.ok(recorder.intents.some((i) => i.input.action.type === 'http' && String(i.input.action.http?.path).startsWith('/admin') && i.enforcedEffect === 'deny'));
  });
}

test('an allowed plain request in a tunnel arrives as decided', async () => {
  const reply = await throughTunnel(upstream.port, ['T /v1/items HTTP/1.1\r\n', `host: ${host()}\r\nconnection: close\r\n\r\n`], 'GE');
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.equal(upstream.log.at(-1)!.url, '/v1/items');
});

test('bytes that are neither TLS nor HTTP are refused and never reach the far end', async () => {
  const reply = await throughTunnel(rawPort, ['SSH-2.0-OpenSSH_9.6\r\n', 'more\r\n\r\n']);
  assert.match(reply, /^HTTP\/1\.1 400 /);
  assert.deepEqual(rawReceived, []);
});

test('a TLS handshake is relayed unread, even when its record header is split', async () => {
  const arrived = once(raw, 'bytes');
  const s = connect(sidecar.port, '127.0.0.1');
  s.setNoDelay(true);
  await once(s, 'connect');
  s.write(`CONNECT 127.0.0.1:${rawPort} HTTP/1.1\r\nhost: 127.0.0.1:${rawPort}\r\n\r\n`);
  await once(s, 'data');
  await new Promise<void>((r) => s.write(Buffer.from([0x16]), () => r()));
  s.write(Buffer.from([0x03, 0x01, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05]));
  await arrived;
  while (Buffer.concat(rawReceived).length < 10) await once(raw, 'bytes');
  assert.deepEqual([...Buffer.concat(rawReceived)], [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05]);
  s.destroy();
});
