/** Who calls the approvals API: TokenReview through the seam, a short positive cache, own namespace only, injected pods only. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallerAuthenticator, TOKEN_AUDIENCE } from '../../../src/controller/approvals/caller-auth.ts';
import type { KubeApi, TokenReviewResult } from '../../../src/controller/k8s/kube-api.ts';
import { ErrorCodes, isPortcullisError } from '../../../src/errors.ts';

const IMAGE = 'ghcr.io/portcullis/portcullis:0.1.0';

/** A pod as the injection leaves it (the parts sidecar-pod.ts reads). */
function injectedPod(): any {
  return {
    metadata: { name: 'agent-0', namespace: 'agents', uid: 'uid-1', annotations: { 'portcullis.dev/injected': 'agents/default;enforce' } },
    spec: {
      initContainers: [{ name: 'portcullis-sidecar', image: IMAGE, args: ['sidecar'], restartPolicy: 'Always', volumeMounts: [{ name: 'portcullis-token', mountPath: '/var/run/secrets/portcullis' }] }],
      containers: [{ name: 'agent', image: 'agent:1' }],
      volumes: [{ name: 'portcullis-token', projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, path: 'token' } }] } }],
    },
  };
}

function reviewer(answers: Record<string, TokenReviewResult>, pods: Record<string, any> = { 'agents/agent-0': injectedPod() }): { kube: KubeApi; calls: { token: string; audiences: string[] }[] } {
  const calls: { token: string; audiences: string[] }[] = [];
  const kube = {
    reviewToken: async (token: string, audiences: string[]) => (calls.push({ token, audiences }), answers[token] ?? { authenticated: false, error: 'invalid bearer token' }),
    readPod: async (ns: string, name: string) => pods[`${ns}/${name}`],
  } as unknown as KubeApi;
  return { kube, calls };
}

const SA: TokenReviewResult = { authenticated: true, username: 'system:serviceaccount:agents:agent', audiences: [TOKEN_AUDIENCE], pod: { name: 'agent-0', uid: 'uid-1' } };
const code = (c: string) => (e: unknown) => isPortcullisError(e) && e.code === c;

test('a service account token is reviewed for audience portcullis.dev and names the account', async () => {
  const { kube, calls } = reviewer({ t1: SA });
  const who = await new CallerAuthenticator({ kube, sidecarImage: IMAGE }).authenticate('Bearer t1');
  assert.deepEqual(who, { namespace: 'agents', name: 'agent', username: 'system:serviceaccount:agents:agent', pod: 'agent-0' });
  assert.deepEqual(calls, [{ token: 't1', audiences: ['portcullis.dev'] }]);
});

test('no header, another scheme, an unknown token, a user that is not a service account, another audience: UNAUTHENTICATED', async () => {
  const { kube } = reviewer({
    user: { authenticated: true, username: 'alice', audiences: [TOKEN_AUDIENCE] },
    aud: { authenticated: true, username: SA.username, audiences: ['https://kubernetes.default.svc'] },
  });
  const auth = new CallerAuthenticator({ kube, sidecarImage: IMAGE });
  for (const h of [undefined, '', 'Basic abc', 'Bearer nope', 'Bearer user', 'Bearer aud']) {
    await assert.rejects(auth.authenticate(h), code(ErrorCodes.UNAUTHENTICATED), String(h));
  }
});

test('positive answers are kept for the TTL, keyed by the token; negative ones are not kept', async () => {
  let now = 0;
  const { kube, calls } = reviewer({ t1: SA });
  const auth = new CallerAuthenticator({ kube, clock: () => now, ttlMs: 60_000, sidecarImage: IMAGE });
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

test('a token not bound to a pod, or bound to a pod the injection did not make, is FORBIDDEN', async () => {
  const variants: Record<string, (p: any) => void> = {
    plain: (p) => {
      delete p.metadata.annotations;
      p.spec.initContainers = [];
    },
    'forged marker, own sidecar image': (p) => (p.spec.initContainers[0].image = 'busybox'),
    'sidecar command replaced': (p) => (p.spec.initContainers[0].command = ['sh', '-c', 'cat /var/run/secrets/portcullis/token']),
    'agent mounts the token': (p) => p.spec.containers[0].volumeMounts = [{ name: 'portcullis-token', mountPath: '/t' }],
    'agent mounts its own projection': (p) => {
      p.spec.volumes.push({ name: 'mine', projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, path: 't' } }] } });
      p.spec.containers[0].volumeMounts = [{ name: 'mine', mountPath: '/t' }];
    },
    'another pod of the same name': (p) => (p.metadata.uid = 'uid-2'),
  };
  for (const [what, change] of Object.entries(variants)) {
    const pod = injectedPod();
    change(pod);
    const { kube } = reviewer({ t: SA }, { 'agents/agent-0': pod });
    await assert.rejects(new CallerAuthenticator({ kube, sidecarImage: IMAGE }).authenticate('Bearer t'), code(ErrorCodes.FORBIDDEN), what);
  }
  const unbound = reviewer({ t: { ...SA, pod: undefined } });
  await assert.rejects(new CallerAuthenticator({ kube: unbound.kube, sidecarImage: IMAGE }).authenticate('Bearer t'), (e) => code(ErrorCodes.FORBIDDEN)(e) && /not bound to a pod/.test((e as Error).message));
  const gone = reviewer({ t: SA }, {});
  await assert.rejects(new CallerAuthenticator({ kube: gone.kube, sidecarImage: IMAGE }).authenticate('Bearer t'), (e) => code(ErrorCodes.FORBIDDEN)(e) && /no longer exists/.test((e as Error).message));
});
