/** Who calls the approvals API: TokenReview through the seam, a short positive cache, own namespace only. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallerAuthenticator, TOKEN_AUDIENCE } from '../../../src/controller/approvals/caller-auth.ts';
import type { KubeApi, TokenReviewResult } from '../../../src/controller/k8s/kube-api.ts';
import { ErrorCodes, isPortcullisError } from '../../../src/errors.ts';

function reviewer(answers: Record<string, TokenReviewResult>): { kube: KubeApi; calls: { token: string; audiences: string[] }[] } {
  const calls: { token: string; audiences: string[] }[] = [];
  const kube = {
    reviewToken: async (token: string, audiences: string[]) => (calls.push({ token, audiences }), answers[token] ?? { authenticated: false, error: 'invalid bearer token' }),
  } as unknown as KubeApi;
  return { kube, calls };
}

const SA: TokenReviewResult = { authenticated: true, username: 'system:serviceaccount:agents:agent', audiences: [TOKEN_AUDIENCE] };
const code = (c: string) => (e: unknown) => isPortcullisError(e) && e.code === c;

test('a service account token is reviewed for audience portcullis.dev and names the account', async () => {
  const { kube, calls } = reviewer({ t1: SA });
  const who = await new CallerAuthenticator({ kube }).authenticate('Bearer t1');
  assert.deepEqual(who, { namespace: 'agents', name: 'agent', username: 'system:serviceaccount:agents:agent' });
  assert.deepEqual(calls, [{ token: 't1', audiences: ['portcullis.dev'] }]);
});

test('no header, another scheme, an unknown token, a user that is not a service account, another audience: UNAUTHENTICATED', async () => {
  const { kube } = reviewer({
    user: { authenticated: true, username: 'alice', audiences: [TOKEN_AUDIENCE] },
    aud: { authenticated: true, username: SA.username, audiences: ['https://kubernetes.default.svc'] },
  });
  const auth = new CallerAuthenticator({ kube });
  for (const h of [undefined, '', 'Basic abc', 'Bearer nope', 'Bearer user', 'Bearer aud']) {
    await assert.rejects(auth.authenticate(h), code(ErrorCodes.UNAUTHENTICATED), String(h));
  }
});

test('positive answers are kept for the TTL, keyed by the token; negative ones are not kept', async () => {
  let now = 0;
  const { kube, calls } = reviewer({ t1: SA });
  const auth = new CallerAuthenticator({ kube, clock: () => now, ttlMs: 60_000 });
  await auth.authenticate('Bearer t1');
  now = 59_999;
  await auth.authenticate('Bearer t1');
  assert.equal(calls.length, 1);
  now = 60_000;
  await auth.authenticate('Bearer t1');
  assert.equal(calls.length, 2);
  await assert.rejects(auth.authenticate('Bearer bad'));
  await assert.rejects(auth.authenticate('Bearer bad'));
  assert.equal(calls.length, 4);
});

test('a caller may ask only in its own namespace', () => {
  const who = { namespace: 'agents', name: 'agent', username: SA.username! };
  CallerAuthenticator.allow(who, 'agents');
  assert.throws(() => CallerAuthenticator.allow(who, 'payments'), code(ErrorCodes.FORBIDDEN));
});
