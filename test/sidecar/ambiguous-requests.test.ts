/**
 * Requests that two servers could read differently: the gate either folds
 * them the same way for the policy and the upstream, or refuses them with a
 * recorded decision. Each case is checked against the upstream's own log.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { functionEngine } from '../gate/function-engine.ts';
import { ErrorCodes } from '../../src/errors.ts';
import type { EvidenceRecorder, IntentRecord } from '../../src/evidence/recorder.ts';

let upstream: LoggingUpstream;
let sidecar: RunningSidecar;
const intents: IntentRecord[] = [];
const inputs: any[] = [];

const recorder: EvidenceRecorder = {
  intent: async (r) => (intents.push(r), { seq: intents.length, hash: '' }),
  outcome: async () => undefined,
  head: () => undefined,
  close: async () => undefined,
};

// Anything under /admin is denied; everything else is allowed.
const policy = (input: any): unknown => {
  inputs.push(input);
  return String(input.action.http.path).startsWith('/admin') ? { effect: 'deny', reason: 'admin is off limits' } : { effect: 'allow', reason: 'ok' };
};

before(async () => {
  upstream = await startUpstream();
  const engine = functionEngine(policy, undefined, [{ name: 'inventory', kind: 'http', url: upstream.origin }]);
  sidecar = await startSidecar({ engine, recorder });
});
after(async () => {
  await sidecar.close();
  await upstream.close();
});

async function refused(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<void> {
  const arrived = upstream.log.length;
  const before = intents.length;
  const r = await send(sidecar.port, { path, ...init });
  assert.equal(r.status, 400, `${path}: ${r.body}`);
  assert.equal(upstream.log.length, arrived, `${path} reached the upstream`);
  const refusal = intents.slice(before).find((i) => i.effect === 'deny');
  assert.ok(refusal, `${path}: no refusal recorded`);
  assert.match(refusal.errorCode ?? '', /^PORTCULLIS_BAD_(PATH|REQUEST)$/);
}

test('an encoded slash forming a dot segment never reaches the upstream, on the tool route and through the proxy', async () => {
  await refused('/tools/inventory/admin%2F..%2Fv1%2Fitems');
  await refused(`${upstream.origin}/admin%2F..`);
  await refused(`${upstream.origin}/x/admin%2F..%2F..%2Fv1`);
});

test('path parameters are refused before the policy: "/admin;x=1" and "/..;/" read differently on Java servers', async () => {
  await refused(`${upstream.origin}/admin;x=1`);
  await refused('/tools/inventory/v1/items/..;/..;/admin');
});

test('repeated slashes are folded: the policy sees what the upstream gets', async () => {
  const r = await send(sidecar.port, { path: `${upstream.origin}//admin` });
  assert.equal(r.status, 403);
  assert.equal(inputs.at(-1).action.http.path, '/admin');
  const arrived = upstream.log.length;
  const ok = await send(sidecar.port, { path: '/tools/inventory//v1///items' });
  assert.equal(ok.status, 200);
  assert.equal(upstream.log.length, arrived + 1);
  assert.equal(upstream.log.at(-1)!.url, '/v1/items');
  assert.equal(inputs.at(-1).action.http.path, '/v1/items');
});

test('a number the policy cannot see exactly is refused; one it can is forwarded byte for byte', async () => {
  const headers = { 'content-type': 'application/json' };
  await refused(`${upstream.origin}/charge`, { method: 'POST', headers, body: '{"amount": 100.0000000000000001}' });
  await refused(`${upstream.origin}/charge`, { method: 'POST', headers, body: '{"id": 12345678901234567890}' });
  const body = '{"amount": 100.50, "id": 9007199254740991}';
  const r = await send(sidecar.port, { path: `${upstream.origin}/charge`, method: 'POST', headers, body });
  assert.equal(r.status, 200);
  assert.equal(upstream.log.at(-1)!.body, body);
  assert.equal(inputs.at(-1).action.http.body.amount, 100.5);
});
