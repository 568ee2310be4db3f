import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRequestedApprover, refuseVerdictUpdate } from '../../../src/controller/approvals/verdict-rules.ts';
import type { ActionApproval } from '../../../src/controller/resources.ts';

const H = 'a'.repeat(64);
const now = new Date('2026-01-01T00:01:00Z');
const held: ActionApproval = {
  metadata: { name: 'x', namespace: 'agents' },
  spec: { inputHash: H, summary: 's', action: { type: 'http', tool: 'p' }, agent: { namespace: 'agents', pod: 'p', serviceAccount: 'sa' }, approvers: ['group:payments', 'user:carol'], expiresAt: '2026-01-01T00:05:00Z' },
};
const decided = (approver: string, inputHash = H): ActionApproval => ({ ...held, spec: { ...held.spec, decision: { verdict: 'Approved', inputHash, approver } } });
const alice = { username: 'alice', groups: ['payments'] };

test('requested approvers: users, groups, service accounts; none named means anyone with RBAC', () => {
  assert.ok(isRequestedApprover(['group:payments'], alice));
  assert.ok(isRequestedApprover(['user:alice'], { username: 'alice' }));
  assert.ok(isRequestedApprover(['alice'], { username: 'alice' }));
  assert.ok(isRequestedApprover(['serviceaccount:ops:bot'], { username: 'system:serviceaccount:ops:bot' }));
  assert.ok(!isRequestedApprover(['group:payments'], { username: 'eve', groups: ['eng'] }));
  assert.ok(isRequestedApprover([], { username: 'anyone' }));
});

test('a requested approver decides as themself for the held input', () => {
  assert.equal(refuseVerdictUpdate(decided('alice'), held, alice, now), undefined);
  assert.equal(refuseVerdictUpdate(decided('carol'), held, { username: 'carol' }, now), undefined);
  assert.match(refuseVerdictUpdate(decided('bob'), held, alice, now)!, /must be the user giving the verdict \("alice"\)/);
  assert.match(refuseVerdictUpdate(decided('eve'), held, { username: 'eve', groups: [] }, now)!, /not among the requested approvers/);
  assert.match(refuseVerdictUpdate(decided('alice', 'b'.repeat(64)), held, alice, now)!, /one exact call/);
});

test('decisions are final, held calls immutable, expired approvals closed', () => {
  assert.match(refuseVerdictUpdate({ ...decided('alice'), spec: { ...decided('alice').spec, decision: { verdict: 'Rejected', inputHash: H, approver: 'alice' } } }, decided('alice'), alice, now)!, /final/);
  assert.equal(refuseVerdictUpdate({ ...decided('alice'), metadata: { ...held.metadata, labels: { a: 'b' } } }, decided('alice'), alice, now), undefined);
  assert.match(refuseVerdictUpdate({ ...held, spec: { ...held.spec, inputHash: 'c'.repeat(64) } }, held, alice, now)!, /cannot be changed/);
  assert.match(refuseVerdictUpdate(decided('alice'), held, alice, new Date('2026-01-01T00:06:00Z'))!, /expired/);
});

test('no step towards a verdict: approvers, expiry and the rest of the held call cannot change before a decision either', () => {
  const mallory = { username: 'mallory', groups: [] };
  const widened: ActionApproval = { ...held, spec: { ...held.spec, approvers: [...held.spec.approvers, 'user:mallory'] } };
  assert.match(refuseVerdictUpdate(widened, held, mallory, now)!, /only spec\.decision may be set/);
  assert.match(refuseVerdictUpdate({ ...held, spec: { ...held.spec, expiresAt: '2027-01-01T00:00:00Z' } }, held, alice, now)!, /only spec\.decision may be set/);
  assert.match(refuseVerdictUpdate({ ...held, spec: { ...held.spec, reason: 'added' } }, held, alice, now)!, /only spec\.decision may be set/);
  const reordered: ActionApproval = { ...held, spec: Object.fromEntries(Object.entries(held.spec).reverse()) as ActionApproval['spec'] };
  assert.equal(refuseVerdictUpdate(reordered, held, alice, now), undefined, 'key order is not a change');
});
