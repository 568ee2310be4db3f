import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approvalName, approvalOf, labelValue, phaseOf } from '../../../src/controller/approvals/approval-state.ts';
import type { ActionApproval } from '../../../src/controller/resources.ts';

const H = 'a'.repeat(64);
function approval(extra: Partial<ActionApproval['spec']> = {}): ActionApproval {
  return {
    metadata: { name: 'x', namespace: 'agents', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { inputHash: H, summary: 's', action: { type: 'http', tool: 't' }, agent: { namespace: 'agents', pod: 'p', serviceAccount: 'sa' }, approvers: ['group:a'], expiresAt: '2026-01-01T00:05:00Z', requestId: 'req-1', ...extra },
  };
}
const at = (iso: string): Date => new Date(iso);

test('pending until decided or expired', () => {
  assert.equal(phaseOf(approval(), at('2026-01-01T00:01:00Z')).phase, 'Pending');
  assert.equal(phaseOf(approval(), at('2026-01-01T00:05:00Z')).phase, 'Expired');
});

test('a verdict counts only for the exact input hash', () => {
  const ok = approval({ decision: { verdict: 'Approved', inputHash: H, approver: 'alice', at: '2026-01-01T00:02:00Z' } });
  assert.equal(phaseOf(ok, at('2026-01-01T00:09:00Z')).phase, 'Approved');
  assert.deepEqual(approvalOf(ok), { id: 'req-1', approver: 'alice', verdict: 'approved', inputHash: H, at: '2026-01-01T00:02:00Z' });
  const wrong = approval({ decision: { verdict: 'Approved', inputHash: 'b'.repeat(64), approver: 'mallory' } });
  assert.equal(phaseOf(wrong, at('2026-01-01T00:01:00Z')).phase, 'Invalid');
  assert.equal(approvalOf(wrong), undefined);
  const no = approval({ decision: { verdict: 'Rejected', inputHash: H, approver: 'bob' } });
  assert.equal(approvalOf(no)!.verdict, 'rejected');
});

test('object names: valid ids are kept, others hashed into a valid name', () => {
  assert.equal(approvalName('0b9f7c1e-2d4a-4c8e-9a51-3f2e1d0c9b8a'), '0b9f7c1e-2d4a-4c8e-9a51-3f2e1d0c9b8a');
  const n = approvalName('Decision/ID with spaces');
  assert.match(n, /^apr-[0-9a-f]{20}$/);
  assert.equal(approvalName('Decision/ID with spaces'), n);
});

test('the pod label is a valid label value however the pod name is cut', () => {
  assert.equal(labelValue('agent-0'), 'agent-0');
  assert.equal(labelValue(`${'a'.repeat(62)}-b`), 'a'.repeat(62));
  assert.equal(labelValue(`${'a'.repeat(61)}.-b`), 'a'.repeat(61));
  assert.equal(labelValue('-weird/name-'), 'weird-name');
  assert.equal(labelValue(''), '');
});
