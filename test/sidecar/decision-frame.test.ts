/**
 * One decision, one bundle, one mode: a bundle swapped in while a call waits
 * for approval (here an observe-mode bundle that denies everything) does not
 * change the mode the call is recorded in, nor the policy that evaluates the
 * approved call. Real Rego, real compiler, real upstream.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecar, startUpstream, send } from './helpers.ts';
import { memoryRecorder } from './memory-recorder.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { selectCompiler } from '../../src/policy/compiler.ts';
import type { CompiledBundle } from '../../src/policy/types.ts';
import type { Approval, ApprovalBroker, ApprovalRequest } from '../../src/gate/types.ts';

const HELD = `package portcullis

import rego.v1

default decision := {"effect": "escalate", "reason": "a person decides", "escalation": {"approvers": ["ada"], "timeoutSeconds": 60}}

decision := {"effect": "allow", "reason": "approved by a person"} if input.context.approval.verdict == "approved"
`;

const DENY_ALL = `package portcullis

import rego.v1

default decision := {"effect": "deny", "reason": "the new bundle denies everything"}
`;

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function compiled(rego: string, catalog: string): Promise<CompiledBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-frame-'));
  dirs.push(dir);
  await writeFile(join(dir, 'decision.rego'), rego);
  await writeFile(join(dir, 'portcullis.yaml'), catalog);
  return (await selectCompiler(process.env)).compile(await readBundleDir(dir));
}

/** A broker that holds each request until the test answers it. */
function heldBroker(): ApprovalBroker & { next: Promise<ApprovalRequest>; answer(a: Omit<Approval, 'at'>): void } {
  let arrived!: (r: ApprovalRequest) => void;
  let answer!: (a: Approval) => void;
  const next = new Promise<ApprovalRequest>((r) => (arrived = r));
  return {
    next,
    request: (req) => {
      arrived(req);
      return new Promise<Approval>((resolve) => (answer = resolve));
    },
    answer: (a) => answer({ ...a, at: new Date().toISOString() }),
  };
}

test('a bundle swapped in during a held escalation changes neither the mode nor the policy of that decision', async () => {
  const upstream = await startUpstream();
  const catalog = `tools:\n  - { name: deploy, kind: http, url: "${upstream.origin}" }\n`;
  const held = await compiled(HELD, catalog);
  const denyAll = { ...(await compiled(DENY_ALL, catalog)), mode: 'observe' as const };
  const engine = new OpaWasmEngine();
  await engine.load(held);
  const recorder = memoryRecorder();
  const approvals = heldBroker();
  const sidecar = await startSidecar({ engine, recorder, approvals });
  try {
    const reply = send(sidecar.port, { method: 'POST', path: '/tools/deploy/v1/release', headers: { 'content-type': 'application/json' }, body: '{"version":"1.4.3"}' });
    const request = await approvals.next;
    await engine.load(denyAll);
    approvals.answer({ id: request.id, approver: 'ada', verdict: 'approved', inputHash: request.inputHash });
    const r = await reply;
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(upstream.log.map((a) => [a.method, a.url, a.body]), [['POST', '/v1/release', '{"version":"1.4.3"}']]);
    assert.deepEqual(recorder.intents.map((i) => [i.mode, i.policyDigest, i.enforcedEffect]), [
      ['enforce', held.digest, 'escalate'],
      ['enforce', held.digest, 'allow'],
    ]);
    // A decision that starts now is made on the new bundle, in its mode.
    const after = await send(sidecar.port, { method: 'POST', path: '/tools/deploy/v1/release', headers: { 'content-type': 'application/json' }, body: '{"version":"2"}' });
    assert.equal(after.status, 200, 'observe mode forwards what it would deny');
    assert.deepEqual([recorder.intents.at(-1)!.mode, recorder.intents.at(-1)!.policyDigest, recorder.intents.at(-1)!.effect], ['observe', denyAll.digest, 'deny']);
  } finally {
    await sidecar.close();
    await upstream.close();
  }
});

test('the approved call carries the credential of the bundle it was decided on, not of one swapped in while it was held', async () => {
  const upstream = await startUpstream();
  const withCredential = `tools:\n  - { name: deploy, kind: http, url: "${upstream.origin}", credential: { name: deploy-token, header: authorization, prefix: "Bearer " } }\n`;
  const withoutCredential = `tools:\n  - { name: deploy, kind: http, url: "${upstream.origin}" }\n`;
  const held = await compiled(HELD, withCredential);
  const swapped = await compiled(HELD, withoutCredential);
  const engine = new OpaWasmEngine();
  await engine.load(held);
  const approvals = heldBroker();
  const sidecar = await startSidecar({ engine, recorder: memoryRecorder(), approvals }, {}, { PORTCULLIS_CREDENTIAL_DEPLOY_TOKEN: 'gate-held-secret' });
  try {
    const reply = send(sidecar.port, { method: 'POST', path: '/tools/deploy/v1/release', headers: { 'content-type': 'application/json', authorization: 'Bearer agent-own' }, body: '{}' });
    const request = await approvals.next;
    await engine.load(swapped);
    approvals.answer({ id: request.id, approver: 'ada', verdict: 'approved', inputHash: request.inputHash });
    assert.equal((await reply).status, 200);
    assert.deepEqual(upstream.log.map((a) => a.headers.authorization), ['Bearer gate-held-secret']);
  } finally {
    await sidecar.close();
    await upstream.close();
  }
});
