/**
 * What the controller's approval page shows a person: pending
 * ActionApprovals that name them (by user, group or service account), never
 * expired or decided ones, nor those naming nobody; and a verdict only on
 * one of those, written with the person's own token (asBearer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterApprovalPage, tokenSignIn } from '../../../src/controller/approvals/approval-page.ts';
import { ErrorCodes } from '../../../src/errors.ts';
import type { KubeApi } from '../../../src/controller/k8s/kube-api.ts';
import type { ActionApproval } from '../../../src/controller/resources.ts';

const now = new Date('2026-12-04T03:00:00Z');
const hash = 'sha256:' + 'a'.repeat(64);

function approval(name: string, approvers: string[], extra: Partial<ActionApproval['spec']> = {}): ActionApproval {
  return {
    apiVersion: 'portcullis.dev/v1alpha1',
    kind: 'ActionApproval',
    metadata: { name, namespace: 'agents', resourceVersion: '1' },
    spec: {
      inputHash: hash,
      summary: name,
      action: { type: 'mcp', tool: 't', mcp: { server: 's', method: 'tools/call', name: 't', arguments: { a: 1 } } },
      agent: { namespace: 'agents', pod: 'p', serviceAccount: 'sa' },
      approvers,
      expiresAt: '2026-12-04T04:00:00Z',
      ...extra,
    },
  } as ActionApproval;
}

const objects = [
  approval('by-name', ['alice']),
  approval('by-group', ['group:payments']),
  approval('by-sa', ['serviceaccount:people:bot']),
  approval('nobody', []),
  approval('expired', ['alice'], { expiresAt: '2026-12-04T02:00:00Z' }),
  approval('decided', ['alice'], { decision: { verdict: 'Approved', inputHash: hash, approver: 'alice' } }),
];

function fakeKube(patches: unknown[], users: Record<string, { username: string; groups: string[] }>): KubeApi {
  const kube = {
    reviewToken: async (token: string) => (users[token] ? { authenticated: true, ...users[token] } : { authenticated: false, error: 'unknown token' }),
    asBearer: (token: string) => ({
      get: async (_ref: unknown, _ns: string, name: string) => objects.find((o) => o.metadata.name === name),
      mergePatch: async (_ref: unknown, _ns: string, _name: string, patch: unknown) => (patches.push({ token, patch }), {}),
    }),
  };
  return kube as unknown as KubeApi;
}

const users = {
  'alice-token': { username: 'alice', groups: ['payments'] },
  'bot-token': { username: 'system:serviceaccount:people:bot', groups: ['system:serviceaccounts'] },
};

test('a person sees the pending approvals that name them, and nothing else', async () => {
  const page = clusterApprovalPage({ approvals: () => objects, watch: () => () => {} }, tokenSignIn(fakeKube([], users)), () => now);
  const alice = await page.authenticate({ authorization: 'Bearer alice-token' });
  assert.deepEqual(page.list(alice).map((i) => i.id).sort(), ['agents/by-group', 'agents/by-name']);
  const bot = await page.authenticate({ authorization: 'Bearer bot-token' });
  assert.deepEqual(page.list(bot).map((i) => i.id), ['agents/by-sa']);
  await assert.rejects(page.authenticate({ authorization: 'Bearer forged' }), (e: any) => e.code === ErrorCodes.UNAUTHENTICATED);
  await assert.rejects(page.authenticate({}), (e: any) => e.code === ErrorCodes.UNAUTHENTICATED);
});

test('a verdict only on an approval shown to that person, written with their token', async () => {
  const patches: any[] = [];
  const page = clusterApprovalPage({ approvals: () => objects, watch: () => () => {} }, tokenSignIn(fakeKube(patches, users)), () => now);
  const alice = await page.authenticate({ authorization: 'Bearer alice-token' });
  for (const id of ['agents/by-sa', 'agents/nobody', 'agents/expired', 'agents/decided', 'agents/missing']) {
    await assert.rejects(page.decide(alice, { id, verdict: 'approved', inputHash: hash, approver: '' }), (e: any) => e.code === ErrorCodes.APPROVAL_NOT_FOUND, id);
  }
  await assert.rejects(page.decide(alice, { id: 'agents/by-name', verdict: 'approved', inputHash: 'sha256:' + 'f'.repeat(64), approver: '' }), (e: any) => e.code === ErrorCodes.APPROVAL_MISMATCH);
  assert.equal(patches.length, 0);
  // The name given on the page does not matter here: the verdict is the token's.
  await page.decide(alice, { id: 'agents/by-name', verdict: 'rejected', inputHash: hash, approver: 'mallory' });
  assert.equal(patches.length, 1);
  assert.equal(patches[0].token, 'alice-token');
  assert.deepEqual(patches[0].patch.spec.decision.approver, 'alice');
  assert.deepEqual(patches[0].patch.spec.decision.verdict, 'Rejected');
});
