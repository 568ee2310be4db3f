/**
 * The approval page as the controller serves it, against a real
 * kube-apiserver: a person signs in with their own bearer token (here a
 * service account's, from the TokenRequest API; the API server's TokenReview
 * says who it is), sees the pending ActionApprovals that name them, live, and
 * nothing else; a verdict is written with their own token, so the real RBAC
 * authorizer and the validating webhook judge it as theirs — without the
 * approver role it is refused and the call stays pending; a verdict for
 * another input hash is refused; with the role, the ActionApproval records
 * them as the approver. Last, the page itself in Debian's Chromium (driven by
 * playwright-core): signed in with the token, a click on Approve decides.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { heldWrite, inputHash } from '../support/action-approvals.ts';
import { launchChromium } from '../support/chromium.ts';

let h: Harness;
let api: string;
const tokens = new Map<string, string>();

// With a policy digest and an argument beside the path: the page's API is checked to pass both on.
const approvalObject = (name: string, approvers: string[], hash: string): any =>
  heldWrite(name, approvers, hash, { arguments: { token: 'sha256:' + 'e'.repeat(64) }, policyDigest: 'sha256:' + 'd'.repeat(64) });

before(async () => {
  h = await startHarness();
  api = h.controllers[0]!.apiUrl;
  await h.namespace('agents');
  await h.namespace('people');
  for (const who of ['alice', 'mallory']) {
    await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: who, namespace: 'people' } });
    tokens.set(who, (await h.cp.kubectlOk(['create', 'token', who, '-n', 'people', '--duration=1h'])).trim());
  }
  await h.apply(approvalObject('write-config', ['serviceaccount:people:alice'], inputHash('a')));
  await h.apply(approvalObject('for-someone-else', ['user:bob'], inputHash('b')));
  await until(() => [...h.controllers[0]!.approvals.approvals()].length === 2 || undefined, 'the controller sees both approvals');
});

after(async () => {
  await h?.close();
});

const pageHeaders = (who?: string): Record<string, string> => ({ 'x-portcullis-page': '1', ...(who ? { authorization: `Bearer ${tokens.get(who) ?? who}` } : {}) });

/** Reads server-sent events until `want` accepts one; the stream is then closed. */
async function eventWhere(who: string, want: (e: any) => boolean): Promise<any> {
  const res = await fetch(`${api}/approvals/events`, { headers: pageHeaders(who) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended');
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const data = buf.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
        buf = buf.slice(i + 2);
        if (data && want(JSON.parse(data.slice(6)))) return JSON.parse(data.slice(6));
      }
    }
  } finally {
    await reader.cancel();
  }
}

const decide = (who: string, body: unknown): Promise<Response> =>
  fetch(`${api}/approvals/decide`, { method: 'POST', headers: { ...pageHeaders(who), 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('the page is served with a strict CSP; its API needs a token the API server accepts', async () => {
  const page = await fetch(`${api}/approvals/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.equal((await fetch(`${api}/approvals/events`, { headers: pageHeaders() })).status, 401);
  const forged = await fetch(`${api}/approvals/events`, { headers: pageHeaders('not-a-token') });
  assert.equal(forged.status, 401);
  assert.equal(((await forged.json()) as any).error.code, 'PORTCULLIS_UNAUTHENTICATED');
  // Not from the page (no x-portcullis-page): refused even with a good token.
  assert.equal((await fetch(`${api}/approvals/events`, { headers: { authorization: `Bearer ${tokens.get('alice')}` } })).status, 403);
});

test('each person sees only the pending approvals that name them, live', async () => {
  const alice = await eventWhere('alice', () => true);
  assert.equal(alice.user.name, 'system:serviceaccount:people:alice');
  assert.deepEqual(alice.approvals.map((a: any) => a.id), ['agents/write-config']);
  const item = alice.approvals[0];
  assert.equal(item.requestId, 'req-write-config');
  assert.equal(item.inputHash, inputHash('a'));
  assert.equal(item.policyDigest, 'sha256:' + 'd'.repeat(64));
  assert.deepEqual(item.arguments, { path: '/prod/write-config', token: 'sha256:' + 'e'.repeat(64) });
  const mallory = await eventWhere('mallory', () => true);
  assert.deepEqual(mallory.approvals, []);
  // A new approval naming alice's group of service accounts reaches her open stream.
  const live = eventWhere('alice', (e) => e.approvals.length === 2);
  await h.apply(approvalObject('rotate-keys', ['group:system:serviceaccounts:people'], inputHash('c')));
  assert.deepEqual((await live).approvals.map((a: any) => a.id).sort(), ['agents/rotate-keys', 'agents/write-config']);
});

test('a verdict is given with the person\'s own token: refused by RBAC without the approver role, by the page for another input or another person, recorded as theirs with it', async () => {
  const get = (): Promise<any> => h.kube.get('portcullis.dev/v1alpha1', 'ActionApproval', 'agents', 'write-config');
  const noRole = await decide('alice', { id: 'agents/write-config', verdict: 'approved', inputHash: inputHash('a') });
  assert.equal(noRole.status, 403);
  assert.match(((await noRole.json()) as any).error.message, /the API server refused your verdict/);
  const notNamed = await decide('mallory', { id: 'agents/write-config', verdict: 'approved', inputHash: inputHash('a') });
  assert.equal(notNamed.status, 404);
  assert.equal((await get()).spec.decision, undefined);

  await h.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'alice-approves', namespace: 'agents' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'portcullis-approver' },
    subjects: [{ kind: 'ServiceAccount', name: 'alice', namespace: 'people' }],
  });
  const other = await decide('alice', { id: 'agents/write-config', verdict: 'approved', inputHash: inputHash('f') });
  assert.equal(other.status, 409);
  assert.equal(((await other.json()) as any).error.code, 'PORTCULLIS_APPROVAL_MISMATCH');
  assert.equal((await get()).spec.decision, undefined);

  const ok = await until(async () => {
    const r = await decide('alice', { id: 'agents/write-config', verdict: 'approved', inputHash: inputHash('a') });
    return r.status === 200 ? r : undefined;
  }, 'the approver role is in effect');
  assert.equal(ok.status, 200);
  const decided = await get();
  assert.equal(decided.spec.decision.approver, 'system:serviceaccount:people:alice');
  assert.equal(decided.spec.decision.verdict, 'Approved');
  assert.equal(decided.spec.decision.inputHash, inputHash('a'));
  const after = await eventWhere('alice', (e) => !e.approvals.some((a: any) => a.id === 'agents/write-config'));
  assert.deepEqual(after.approvals.map((a: any) => a.id), ['agents/rotate-keys']);
});

test('in Chromium: signed in with a Kubernetes token, a click on Approve records the verdict as that person\'s', async () => {
  await h.apply(approvalObject('browser-call', ['serviceaccount:people:alice'], inputHash('9')));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // The address an MCP client would show: the page opens on that call.
    await page.goto(`${api}/approvals/?id=req-browser-call`);
    await page.locator('#login').waitFor({ state: 'visible' });
    assert.match((await page.locator('#login-hint').textContent()) ?? '', /kubectl create token/);
    await page.fill('#token', tokens.get('alice')!);
    await page.click('#login button[type=submit]');
    const card = page.locator('article.call.focus');
    await card.waitFor();
    assert.equal(await card.getAttribute('data-id'), 'agents/browser-call');
    assert.match((await page.locator('#signed-in').textContent()) ?? '', /system:serviceaccount:people:alice/);
    await card.locator('button.approve').click();
    await page.locator('article.call[data-id="agents/browser-call"]').waitFor({ state: 'detached' });
    const decided = await h.kube.get('portcullis.dev/v1alpha1', 'ActionApproval', 'agents', 'browser-call');
    assert.equal(decided.spec.decision.approver, 'system:serviceaccount:people:alice');
    assert.equal(decided.spec.decision.inputHash, inputHash('9'));
  } finally {
    await browser.close();
  }
});
