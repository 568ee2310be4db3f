/**
 * The outcome records what the agent received: the output hash is of the body
 * as the agent got it (after redaction), the upstream's own hash is kept under
 * its own name, and the status is the one the agent was sent.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { sha256 } from '../../src/evidence/hash.ts';
import { ErrorCodes } from '../../src/errors.ts';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;

const SECRET_BODY = JSON.stringify({ secret: 'hunter2', ok: true });
const SSE_BODY = `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { secret: 'hunter2', n: 1 } })}\n\n`;

before(async () => {
  upstream = await startUpstream((a, res) => {
    if (a.url === '/slow') return; // never answers: the policy's timeout ends the call
    if (a.url === '/sse') {
      res.setHeader('content-type', 'text/event-stream');
      res.end(SSE_BODY);
      return;
    }
    res.setHeader('content-type', 'application/json');
    if (a.url === '/big') res.end(JSON.stringify({ filler: 'x'.repeat(4096) }));
    else res.end(SECRET_BODY);
  });
  recorder = memoryRecorder();
  const policy = (i: any): unknown => {
    const path: string = i.action.http.path;
    if (path === '/big') return { effect: 'allow', reason: 'ok', constraints: { maxResponseBytes: 1024 } };
    if (path === '/slow') return { effect: 'allow', reason: 'ok', constraints: { timeoutMs: 200 } };
    if (path === '/plain') return { effect: 'allow', reason: 'ok' };
    return { effect: 'allow', reason: 'ok', constraints: { redact: ['$.secret', '$.result.secret'] } };
  };
  sidecar = await startSidecar({ engine: functionEngine(policy), recorder });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
});

async function outcomeOf(path: string): Promise<Awaited<ReturnType<MemoryRecorder['outcomeFor']>>> {
  const intent = recorder.intents.find((i) => i.input.action.http?.path === path);
  assert.ok(intent, `an intent for ${path}`);
  return recorder.outcomeFor(intent.decisionId);
}

test('a redacted JSON body: the output hash is of what the agent received, the upstream hash under its own name', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/json` });
  assert.equal(r.status, 200);
  assert.ok(!r.body.includes('hunter2'), 'the secret was redacted');
  const outcome = await outcomeOf('/json');
  assert.equal(outcome.outputHash, sha256(r.body));
  assert.equal(outcome.upstreamOutputHash, sha256(SECRET_BODY));
  assert.notEqual(outcome.outputHash, sha256(SECRET_BODY));
  assert.equal(outcome.bytes, Buffer.byteLength(r.body));
});

test('a redacted SSE stream: the output hash is of the events as the agent received them', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/sse` });
  assert.equal(r.status, 200);
  assert.ok(!r.body.includes('hunter2'));
  const outcome = await outcomeOf('/sse');
  assert.equal(outcome.outputHash, sha256(r.body));
  assert.equal(outcome.upstreamOutputHash, sha256(SSE_BODY));
});

test('an unchanged body: one hash, the same for agent and upstream', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/plain` });
  assert.equal(r.status, 200);
  assert.equal(r.body, SECRET_BODY);
  const outcome = await outcomeOf('/plain');
  assert.equal(outcome.outputHash, sha256(SECRET_BODY));
  assert.equal(outcome.upstreamOutputHash, undefined);
});

test('a response refused for size: the outcome status is the 502 the agent got', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/big` });
  assert.equal(r.status, 502);
  assert.equal(r.json().error.code, ErrorCodes.RESPONSE_TOO_LARGE);
  const outcome = await outcomeOf('/big');
  assert.equal(outcome.status, 502);
  assert.equal(outcome.errorCode, ErrorCodes.RESPONSE_TOO_LARGE);
});

test('an upstream timeout: the outcome status is the 504 the agent got', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/slow` });
  assert.equal(r.status, 504);
  assert.equal(r.json().error.code, ErrorCodes.UPSTREAM_TIMEOUT);
  const outcome = await outcomeOf('/slow');
  assert.equal(outcome.status, 504);
  assert.equal(outcome.errorCode, ErrorCodes.UPSTREAM_TIMEOUT);
});

test('a refused request: the outcome status is the 400 the agent got, not 0', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/a%2F..%2Fb` });
  assert.equal(r.status, 400);
  assert.equal(r.json().error.code, ErrorCodes.BAD_PATH);
  const outcome = await recorder.outcomeFor(r.json().error.decisionId);
  assert.equal(outcome.status, 400);
  assert.equal(outcome.errorCode, ErrorCodes.BAD_PATH);
});
