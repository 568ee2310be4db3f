/**
 * Who may answer a held call locally: an approver the policy named, a member
 * of a named group by PORTCULLIS_APPROVER_GROUPS, or — while no groups are
 * configured — the operator who started the gate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalApprovalBroker } from '../../src/sidecar/local-approvals.ts';
import { ErrorCodes } from '../../src/errors.ts';
import type { ApprovalRequest } from '../../src/gate/types.ts';

function held(broker: LocalApprovalBroker, id: string, approvers: string[]): Promise<unknown> {
  const request = { id, approvers, inputHash: 'sha256:' + 'a'.repeat(64), reason: 'r', expiresAt: new Date(Date.now() + 60_000).toISOString() } as unknown as ApprovalRequest;
  return broker.request(request).catch((e) => e);
}

const forbidden = (e: any): boolean => e.code === ErrorCodes.FORBIDDEN;

test('with no groups configured, the operator answers for every group; anyone else does not', async () => {
  const broker = new LocalApprovalBroker({ operator: 'ada' });
  const call = held(broker, 'c1', ['group:payments']);
  assert.throws(() => broker.decide('c1', 'approved', 'mallory'), forbidden);
  assert.equal(broker.decide('c1', 'approved', 'ada').approver, 'ada');
  assert.equal(((await call) as any).verdict, 'approved');
});

test('once groups are configured, only their members answer for them, the operator included', async () => {
  const broker = new LocalApprovalBroker({ operator: 'ada', approverGroups: { payments: 'bob, carol' } });
  const call = held(broker, 'c2', ['group:payments']);
  assert.throws(() => broker.decide('c2', 'approved', 'ada'), forbidden);
  assert.equal(broker.decide('c2', 'rejected', 'carol').verdict, 'rejected');
  await call;
});

test('a named user is that user alone, whoever the operator is', async () => {
  const broker = new LocalApprovalBroker({ operator: 'ada' });
  const call = held(broker, 'c3', ['user:bob']);
  assert.throws(() => broker.decide('c3', 'approved', 'ada'), forbidden);
  broker.decide('c3', 'approved', 'bob');
  await call;
});

test('a verdict naming another input hash is refused and the call stays held; the page is told when calls come and go', async () => {
  const broker = new LocalApprovalBroker({ operator: 'ada', policyDigest: () => 'sha256:' + 'd'.repeat(64) });
  let changes = 0;
  const unwatch = broker.watch(() => changes++);
  const call = held(broker, 'c4', ['user:ada']);
  assert.equal(changes, 1);
  assert.equal(broker.held()[0]!.policyDigest, 'sha256:' + 'd'.repeat(64));
  assert.throws(() => broker.decide('c4', 'approved', 'ada', 'sha256:' + 'b'.repeat(64)), (e: any) => e.code === ErrorCodes.APPROVAL_MISMATCH);
  assert.equal(broker.list().length, 1, 'still held');
  broker.decide('c4', 'approved', 'ada', 'sha256:' + 'a'.repeat(64));
  assert.equal(((await call) as any).verdict, 'approved');
  assert.equal(changes, 2);
  unwatch();
  const next = held(broker, 'c5', ['user:ada']);
  assert.equal(changes, 2, 'no longer told');
  broker.close();
  await next;
});
