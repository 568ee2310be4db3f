/**
 * Every call leaves evidence, whatever its method or its end: an intent for
 * each decision and an outcome for each intent, saying why nothing was sent
 * when nothing was.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { ErrorCodes } from '../../src/errors.ts';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;
let tcp: Server;
let tcpPort: number;
const tcpReceived: Buffer[] = [];

before(async () => {
  upstream = await startUpstream();
  // A raw TCP peer standing in for a TLS server at the end of a tunnel: it records what arrives.
  tcp = createServer((s) => s.on('data', (c: Buffer) => tcpReceived.push(c)).on('error', () => undefined));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  tcpPort = (tcp.address() as AddressInfo).port;
  recorder = memoryRecorder();
  const tools = [{ name: 'ops', kind: 'mcp' as const, url: `${upstream.origin}/mcp` }];
  const policy = (i: any): unknown => (i.action.http?.method === 'LOCK' ? { effect: 'deny', reason: 'no locks' } : { effect: 'allow', reason: 'ok' });
  sidecar = await startSidecar({ engine: functionEngine(policy, undefined, tools), recorder }, {}, { PORTCULLIS_TUNNEL_IDLE_TIMEOUT_MS: '300' });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
  tcp.close();
});

function unfinished(): string[] {
  const done = new Set(recorder.outcomes.map((o) => o.decisionId));
  return recorder.intents.filter((i) => !done.has(i.decisionId)).map((i) => `${i.input.action.type} ${i.input.action.http?.method ?? i.input.action.mcp?.method} ${i.enforcedEffect}`);
}

async function outcomeOf(match: (i: MemoryRecorder['intents'][number]) => boolean): Promise<{ intent: MemoryRecorder['intents'][number]; outcome: MemoryRecorder['outcomes'][number] }> {
  const intent = recorder.intents.find(match);
  assert.ok(intent, 'an intent was recorded');
  return { intent, outcome: await recorder.outcomeFor(intent.decisionId) };
}

test('methods the web framework does not know (PROPFIND, MKCOL, SEARCH, LOCK) are decided and recorded like any other', async () => {
  for (const method of ['PROPFIND', 'MKCOL', 'SEARCH']) {
    const r = await send(sidecar.port, { method, path: `${upstream.origin}/dav/${method}` });
    assert.equal(r.status, 200, `${method} was forwarded`);
    assert.ok(upstream.log.some((a) => a.method === method && a.url === `/dav/${method}`), `${method} reached the upstream as decided`);
    const { outcome } = await outcomeOf((i) => i.input.action.http?.method === method);
    assert.equal(outcome.status, 200);
  }
  const locked = await send(sidecar.port, { method: 'LOCK', path: `${upstream.origin}/dav/lock` });
  assert.equal(locked.status, 403);
  assert.equal(locked.json().error.code, ErrorCodes.DENIED);
  assert.ok(!upstream.log.some((a) => a.method === 'LOCK'));
  const { intent, outcome } = await outcomeOf((i) => i.input.action.http?.method === 'LOCK');
  assert.equal(intent.enforcedEffect, 'deny');
  assert.equal(outcome.errorCode, ErrorCodes.DENIED);
});

test('a batch refused as a whole leaves an outcome for every intent, its allowed siblings included', async () => {
  const body = '[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok","arguments":{}}},' + '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"bad","arguments":{"s":"\\ud800"}}}]';
  const before = upstream.log.length;
  const r = await send(sidecar.port, { method: 'POST', path: '/mcp/ops', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body });
  assert.equal(r.status, 400);
  assert.equal(upstream.log.length, before, 'nothing of the batch reached the upstream');
  const sibling = recorder.intents.find((i) => i.input.action.mcp?.name === 'ok');
  assert.ok(sibling, 'the sibling was decided');
  const outcome = await recorder.outcomeFor(sibling.decisionId);
  assert.equal(outcome.status, 0);
  assert.equal(outcome.errorCode, ErrorCodes.BAD_REQUEST, 'the outcome says why nothing was sent');
  await recorder.waitOutcomes(recorder.intents.length);
  assert.deepEqual(unfinished(), []);
});

function openTunnel(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(sidecar.port, '127.0.0.1', () => s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`));
    s.once('error', reject);
    s.once('data', (c: Buffer) => {
      assert.match(c.toString('latin1'), /^HTTP\/1\.1 200 /);
      resolve(s);
    });
  });
}

const closed = (s: Socket): Promise<void> => new Promise((r) => (s.closed ? r() : s.once('close', () => r())));

test('an allowed tunnel the agent closes before any byte is closed and recorded', { timeout: 10_000 }, async () => {
  const s = await openTunnel(tcpPort);
  const n = recorder.intents.length;
  const intent = recorder.intents[n - 1]!;
  assert.equal(intent.input.action.type, 'connect');
  s.end();
  // The sidecar closes its side too (no socket left in CLOSE_WAIT) ...
  await closed(s);
  // ... and the outcome says nothing was sent.
  const outcome = await recorder.outcomeFor(intent.decisionId);
  assert.equal(outcome.bytes, 0);
  assert.ok(outcome.errorCode);
});

test('an idle tunnel is closed after PORTCULLIS_TUNNEL_IDLE_TIMEOUT_MS, before and after its first byte', { timeout: 10_000 }, async () => {
  const quiet = await openTunnel(tcpPort);
  const quietIntent = recorder.intents[recorder.intents.length - 1]!;
  await closed(quiet);
  assert.equal((await recorder.outcomeFor(quietIntent.decisionId)).errorCode, ErrorCodes.REQUEST_TIMEOUT);

  const busy = await openTunnel(tcpPort);
  const busyIntent = recorder.intents[recorder.intents.length - 1]!;
  busy.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x01, 0x00]));
  await closed(busy);
  assert.ok(tcpReceived.some((c) => c[0] === 0x16), 'the bytes went through before the tunnel idled out');
  assert.equal((await recorder.outcomeFor(busyIntent.decisionId)).errorCode, ErrorCodes.REQUEST_TIMEOUT);
});

test('every intent has its outcome', { timeout: 10_000 }, async () => {
  await recorder.waitOutcomes(recorder.intents.length);
  assert.deepEqual(unfinished(), []);
});
