/** No action without a durable record; held calls let go when their agent leaves. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';
import { LocalApprovalBroker } from '../../src/sidecar/local-approvals.ts';
import type { EvidenceRecorder } from '../../src/evidence/recorder.ts';
import { until } from '../support/until.ts';

let upstream: LoggingUpstream;
const running: RunningSidecar[] = [];
const broker = new LocalApprovalBroker();

const brokenLedger: EvidenceRecorder = {
  intent: async () => {
    throw new PortcullisError(ErrorCodes.LEDGER_WRITE, 'disk full');
  },
  outcome: async () => undefined,
  head: () => undefined,
  close: async () => undefined,
};

const policy = (i: any): unknown =>
  i.action.http.path === '/hold' ? { effect: 'escalate', reason: 'wait', escalation: { approvers: [], timeoutSeconds: 300 } } : { effect: 'allow', reason: 'ok' };

before(async () => {
  upstream = await startUpstream();
});
after(async () => {
  broker.close();
  for (const s of running) await s.close();
  await upstream.close();
});

test('enforce mode: an intent that cannot be recorded stops the call (503), the upstream never sees it', async () => {
  const s = await startSidecar({ engine: functionEngine(policy), recorder: brokenLedger });
  running.push(s);
  const r = await send(s.port, { path: `${upstream.origin}/pay` });
  assert.equal(r.status, 503);
  assert.equal(r.json().error.code, ErrorCodes.LEDGER_WRITE);
  assert.ok(!upstream.log.some((a) => a.url === '/pay'));
});

test('observe mode: the call goes ahead even so', async () => {
  const s = await startSidecar({ engine: functionEngine(policy), recorder: brokenLedger }, { mode: 'observe' });
  running.push(s);
  const r = await send(s.port, { path: `${upstream.origin}/observed` });
  assert.equal(r.status, 200);
  assert.ok(upstream.log.some((a) => a.url === '/observed'));
});

test('a held call whose agent disconnects is dropped from the approvals queue', async () => {
  const s = await startSidecar({ engine: functionEngine(policy), approvals: broker });
  running.push(s);
  const req = request({ host: '127.0.0.1', port: s.port, path: `${upstream.origin}/hold`, agent: false });
  req.on('error', () => undefined);
  req.end();
  await until(() => broker.list().length > 0, 'the call to be held');
  assert.equal(broker.list().length, 1);
  req.destroy();
  await until(() => broker.list().length === 0, 'the held call to be dropped');
  assert.equal(broker.list().length, 0);
  assert.ok(!upstream.log.some((a) => a.url === '/hold'));
});
