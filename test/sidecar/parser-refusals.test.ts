/**
 * Requests the HTTP parser refuses: recorded with what their request line
 * shows and a reason that fits, and never answered out of turn.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startUpstream, startSidecar, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { ErrorCodes } from '../../src/errors.ts';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;

before(async () => {
  upstream = await startUpstream();
  recorder = memoryRecorder();
  sidecar = await startSidecar({ engine: functionEngine(() => ({ effect: 'allow', reason: 'ok' })), recorder });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
});

async function raw(bytes: string): Promise<string> {
  const s = connect(sidecar.port, '127.0.0.1');
  await once(s, 'connect');
  s.write(bytes);
  let out = '';
  s.on('data', (c: Buffer) => (out += c.toString('latin1')));
  await once(s, 'close');
  return out;
}

test('bytes after a request that closes its connection: the request is answered first, then the bytes are refused and recorded', async () => {
  const out = await raw(`DELETE ${upstream.origin}/items/1 HTTP/1.1\r\nhost: 127.0.0.1:${upstream.port}\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n{"cascade":true}`);
  // The agent reads the answer to its call, not a 400 that would say it never ran.
  assert.match(out, /^HTTP\/1\.1 200 /, out);
  assert.ok(upstream.log.some((a) => a.method === 'DELETE' && a.url === '/items/1' && a.body === ''), 'the call ran, without the unframed bytes');
  const refusal = recorder.intents.find((i) => i.errorCode === ErrorCodes.BAD_REQUEST && /HPE_CLOSED_CONNECTION/.test(i.reason));
  assert.ok(refusal, 'the stray bytes are recorded as refused');
  assert.match(refusal.reason, /without Content-Length/);
});

test('a request line the parser refuses is recorded with its method and target as sent, and a reason that fits', async () => {
  const out = await raw(`GET /tools/x/a b?probe=line HTTP/1.1\r\nhost: x\r\n\r\n`);
  assert.match(out, /^HTTP\/1\.1 400 /);
  const refusal = recorder.intents.find((i) => i.input.action.http?.rawPath === '/tools/x/a b?probe=line');
  assert.ok(refusal, 'recorded with the target as sent');
  assert.equal(refusal.input.action.http!.method, 'GET');
  assert.doesNotMatch(refusal.reason, /Content-Length with Transfer-Encoding/);
});

test('a GET with a body is read and decided with it, and the body arrives', async () => {
  const body = '{"query":{"match":{"title":"x"}}}';
  const out = await raw(`GET ${upstream.origin}/_search HTTP/1.1\r\nhost: 127.0.0.1:${upstream.port}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  assert.match(out, /^HTTP\/1\.1 200 /);
  assert.equal(upstream.log.find((a) => a.url === '/_search')!.body, body);
  const intent = recorder.intents.find((i) => i.input.action.http?.path === '/_search');
  assert.deepEqual(intent!.input.action.http!.body, JSON.parse(body));
});
