/**
 * Every part of a decision is validated before anything executes: a decision
 * that cannot be carried out fails closed before the upstream is called, and
 * nothing that goes wrong while a response streams can end the process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { memoryRecorder, type MemoryRecorder } from './memory-recorder.ts';
import { ErrorCodes } from '../../src/errors.ts';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
let recorder: MemoryRecorder;

// An SSE event nested far deeper than JSON.stringify can serialise again after redaction.
const DEEP = '['.repeat(1_000_000) + ']'.repeat(1_000_000);

before(async () => {
  upstream = await startUpstream((a, res) => {
    if (a.url === '/sse' || a.url === '/sse-bad-path') {
      res.setHeader('content-type', 'text/event-stream');
      // The last line has no newline: it is rewritten when the stream ends, outside any caller's try.
      res.end(`event: message\ndata: ${DEEP}`);
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ card: { number: '4111' }, ok: true }));
  });
  recorder = memoryRecorder();
  const policy = (i: any): unknown => {
    const path: string = i.action.http.path;
    if (path === '/pay' || path === '/sse-bad-path') return { effect: 'allow', reason: 'ok', constraints: { redact: ['$.card[number'] } };
    if (path === '/header') return { effect: 'compute', reason: 'tag', rewrite: { http: { headers: { 'x-tag': 'a\r\nx-injected: 1' } } } };
    return { effect: 'allow', reason: 'ok', constraints: { redact: ['$.secret'] } };
  };
  sidecar = await startSidecar({ engine: functionEngine(policy), recorder });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
});

test('a malformed redact path fails closed before the upstream is called, with a ledger entry', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/pay` });
  assert.equal(r.status, 403);
  assert.equal(r.json().error.code, ErrorCodes.DECISION_INVALID);
  assert.equal(upstream.log.filter((a) => a.url === '/pay').length, 0, 'the upstream never saw the call');
  const intent = recorder.intents.find((i) => i.input.action.http?.path === '/pay');
  assert.ok(intent, 'the refusal is in the ledger');
  assert.equal(intent.errorCode, ErrorCodes.DECISION_INVALID);
  assert.equal(intent.enforcedEffect, 'error');
  const outcome = await recorder.outcomeFor(intent.decisionId);
  assert.equal(outcome.errorCode, ErrorCodes.DECISION_INVALID);
});

test('a rewrite that would inject a header fails closed before the upstream is called', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/header` });
  assert.equal(r.status, 403);
  assert.equal(r.json().error.code, ErrorCodes.DECISION_INVALID);
  assert.equal(upstream.log.filter((a) => a.url === '/header').length, 0);
});

test('an SSE event that cannot be redacted cuts the stream off; the process lives on and keeps deciding', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/sse` }).catch((e: Error) => e);
  // Either the stream was cut (an aborted response) or it ended without the unredacted event.
  if (!(r instanceof Error)) assert.ok(!r.body.includes('[[[['), 'the event was not passed on unredacted');
  const intent = recorder.intents.find((i) => i.input.action.http?.path === '/sse');
  assert.ok(intent);
  const outcome = await recorder.outcomeFor(intent.decisionId);
  assert.equal(outcome.errorCode, ErrorCodes.UPSTREAM);
  const after = await send(sidecar.port, { path: `${upstream.origin}/after` });
  assert.equal(after.status, 200);
  assert.equal(after.json().ok, true);
});

test('a malformed redact path on a streamed (SSE) response is refused before the upstream is called; the process lives on', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}/sse-bad-path` });
  assert.equal(r.status, 403);
  assert.equal(r.json().error.code, ErrorCodes.DECISION_INVALID);
  assert.equal(upstream.log.filter((a) => a.url === '/sse-bad-path').length, 0);
  const after = await send(sidecar.port, { path: `${upstream.origin}/after-sse` });
  assert.equal(after.status, 200);
});
