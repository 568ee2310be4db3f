/**
 * The approval page behind an authenticating proxy, against a real
 * kube-apiserver: the controller's proxy listener (mutual TLS) accepts only a
 * client holding a certificate from the proxy's CA (made here with openssl);
 * identity headers anywhere else, or without that certificate, sign nobody
 * in. Through it the named person (and their groups) sees the pending
 * ActionApprovals that name them, and a verdict is written impersonating
 * them: refused while the controller lacks the chart's impersonation role,
 * then judged by the real RBAC authorizer and the verdict webhook as the
 * person's — refused without the approver role, recorded as theirs with it.
 * The proxy speaks only for the users and groups configured, its certificate
 * must carry the configured name, and the chart's grant lets the controller's
 * own token impersonate no one else (the API server refuses it). Last, the
 * proxy's CA is rotated on disk and trusted without a restart.
 * Last, the page in Debian's Chromium behind a stand-in for the proxy (it
 * signs alice in, presents the client certificate): no token asked, a click
 * on Approve records her verdict.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { heldWrite, inputHash } from '../support/action-approvals.ts';
import { launchChromium } from '../support/chromium.ts';
import { renderObjects } from '../packaging/helm.ts';

let h: Harness;
/** Whom the proxy may speak for, and the name its certificate carries: the controller's settings and the chart's values alike. */
const SCOPE = { approvalProxyUsers: 'alice@example.com,carol@example.com', approvalProxyGroups: 'payments', approvalProxyClientNames: 'proxy' };
const CHART_PROXY = { enabled: true, clientCaSecret: 'proxy-ca', users: ['alice@example.com', 'carol@example.com'], groups: ['payments'], clientNames: ['proxy'] };
let dir: string;
let port: number;
const pem = (name: string): string => readFileSync(join(dir, name), 'utf8');

/**
 * A client certificate (extendedKeyUsage clientAuth, subject CN `cn`) as `${name}.crt` and `${name}.key`,
 * signed by the CA `${ca}-ca.crt`, made first when `ca` is `name`.
 */
function clientCertificate(name: string, ca = name, cn = name): void {
  const ssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  if (ca === name) ssl(['req', '-x509', ...ec, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`, '-subj', `/CN=${name}-ca`, '-days', '1']);
  ssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  writeFileSync(join(dir, `${name}.ext`), 'extendedKeyUsage=clientAuth\n');
  ssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}-ca.crt`, '-CAkey', `${ca}-ca.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`]);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portcullis-proxy-'));
  clientCertificate('proxy');
  clientCertificate('rogue');
  // Signed by the proxy's CA, but not the name the listener answers.
  clientCertificate('stray', 'proxy');
  // The proxy's next CA, and the proxy's certificate from it (same name), for the rotation at the end.
  clientCertificate('next');
  clientCertificate('next-proxy', 'next', 'proxy');
  // The CA file is re-read every 200 ms (the interval of mounted certificate files).
  h = await startHarness({ configOverrides: { approvalProxyCaFile: join(dir, 'proxy-ca.crt'), approvalProxyHost: '127.0.0.1', approvalProxyPort: '0', webhookCertReloadMs: '200', ...SCOPE } });
  port = h.controllers[0]!.approvalProxyPort!;
  await h.namespace('agents');
  await h.apply(heldWrite('alice-call', ['user:alice@example.com'], inputHash('a')));
  await h.apply(heldWrite('payments-call', ['group:payments'], inputHash('b')));
  await h.apply(heldWrite('carol-call', ['user:carol@example.com'], inputHash('c')));
  await h.apply(heldWrite('bob-call', ['user:bob'], inputHash('d')));
  await h.apply(heldWrite('people-call', ['group:people'], inputHash('e')));
  await until(() => [...h.controllers[0]!.approvals.approvals()].length === 5 || undefined, 'the controller sees the approvals');
});

after(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  /** The JSON body, or the first server-sent event's data. */
  body: any;
}

/** One request to the proxy listener, presenting `cert`'s client certificate (none: no certificate). */
function viaProxy(o: { path: string; cert?: string; headers?: Record<string, string | string[]>; body?: unknown }): Promise<Answer> {
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  const tls = o.cert ? { cert: pem(`${o.cert}.crt`), key: pem(`${o.cert}.key`) } : {};
  const headers = { 'x-portcullis-page': '1', ...(body ? { 'content-type': 'application/json' } : {}), ...o.headers };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: o.path, method: body ? 'POST' : 'GET', headers, ca: h.controllers[0]!.tls.caPem, ...tls }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        const event = /^data: (.*)$/m.exec(text);
        // An event stream stays open: the first event is the answer.
        if (event && text.includes('\n\n')) {
          resolve({ status: res.statusCode!, body: JSON.parse(event[1]!) });
          req.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const alice = { 'x-forwarded-user': 'alice@example.com', 'x-forwarded-groups': 'payments, people' };
const carol = { 'x-forwarded-user': 'carol@example.com' };
const decision = async (name: string): Promise<any> => (await h.kube.get('portcullis.dev/v1alpha1', 'ActionApproval', 'agents', name)).spec.decision;

test('identity headers sign nobody in without the proxy\'s certificate: none or another CA\'s fails the handshake, and the API port ignores them', async () => {
  // Refused by the TLS handshake, not by a port that is not there (ECONNREFUSED would pass a bare rejects).
  const handshakeRefused = (e: any): boolean => e?.code !== 'ECONNREFUSED' && /certificate|alert|ECONNRESET|socket hang up/i.test(`${e?.code} ${e?.message}`);
  await assert.rejects(viaProxy({ path: '/approvals/events', headers: alice }), handshakeRefused);
  await assert.rejects(viaProxy({ path: '/approvals/events', headers: alice, cert: 'rogue' }), handshakeRefused);
  // The proxy's CA, another name: the handshake completes, the request is refused and names both.
  const stray = await viaProxy({ path: '/approvals/events', headers: alice, cert: 'stray' });
  assert.equal(stray.status, 403);
  assert.match(stray.body.error.message, /names stray; this port answers only proxy/);
  const plain = await fetch(`${h.controllers[0]!.apiUrl}/approvals/events`, { headers: { 'x-portcullis-page': '1', ...alice } });
  assert.equal(plain.status, 401);
  assert.equal(((await plain.json()) as any).error.code, 'PORTCULLIS_UNAUTHENTICATED');
});

test('through the proxy the named person sees the pending approvals that name them or their groups, and nothing else', async () => {
  const seen = await viaProxy({ path: '/approvals/events', headers: alice, cert: 'proxy' });
  assert.equal(seen.status, 200);
  assert.equal(seen.body.user.name, 'alice@example.com');
  // alice is in people too, but the proxy may not speak for that group: people-call is not hers to decide here.
  assert.deepEqual(seen.body.approvals.map((a: any) => a.id).sort(), ['agents/alice-call', 'agents/payments-call']);
  // bob is named by an approval, but not among the users the proxy may speak for.
  const bob = await viaProxy({ path: '/approvals/events', headers: { 'x-forwarded-user': 'bob' }, cert: 'proxy' });
  assert.equal(bob.status, 403);
  assert.match(bob.body.error.message, /may not speak for bob.*PORTCULLIS_APPROVAL_PROXY_USERS/);
  const nobody = await viaProxy({ path: '/approvals/events', cert: 'proxy' });
  assert.equal(nobody.status, 401);
  // The proxy never speaks for Kubernetes' own names, which impersonation would reach.
  const reservedNames: Record<string, string>[] = [{ 'x-forwarded-user': 'system:admin' }, { 'x-forwarded-user': 'mallory', 'x-forwarded-groups': 'system:masters' }];
  for (const headers of reservedNames) {
    const reserved = await viaProxy({ path: '/approvals/events', headers, cert: 'proxy' });
    assert.equal(reserved.status, 403);
    assert.match(reserved.body.error.message, /system:/);
  }
});

test('a verdict through the proxy is written impersonating the person: refused without the impersonation role, by RBAC without the approver role, recorded as theirs with both', async () => {
  const approve = (who: Record<string, string>, name: string, hash: string): Promise<Answer> =>
    viaProxy({ path: '/approvals/decide', headers: who, cert: 'proxy', body: { id: `agents/${name}`, verdict: 'approved', inputHash: hash } });
  await h.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'alice-approves', namespace: 'agents' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'portcullis-approver' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice@example.com' }],
  });
  // The default install (manifests/) grants no impersonation: the API server refuses the controller.
  const noImpersonation = await approve(alice, 'alice-call', inputHash('a'));
  assert.equal(noImpersonation.status, 403);
  assert.match(noImpersonation.body.error.message, /cannot impersonate/);
  assert.equal(await decision('alice-call'), undefined);

  // The chart's role, rendered with the proxy on.
  const rbac = renderObjects({ approvals: { proxy: CHART_PROXY } }).filter((o) => String(o.metadata?.name).endsWith('-impersonate-approvers'));
  assert.deepEqual(rbac.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding']);
  for (const o of rbac) await h.apply(o);

  const carolRefused = await until(async () => {
    const r = await approve(carol, 'carol-call', inputHash('c'));
    return /cannot impersonate/.test(r.body?.error?.message ?? '') ? undefined : r;
  }, 'the impersonation role is in effect');
  assert.equal(carolRefused.status, 403);
  assert.match(carolRefused.body.error.message, /the API server refused your verdict.*carol@example\.com/);
  assert.equal(await decision('carol-call'), undefined);

  const ok = await until(async () => {
    const r = await approve(alice, 'alice-call', inputHash('a'));
    return r.status === 200 ? r : undefined;
  }, 'the approver role is in effect');
  assert.equal(ok.body.verdict, 'approved');
  const d = await decision('alice-call');
  assert.equal(d.approver, 'alice@example.com');
  assert.equal(d.verdict, 'Approved');
  assert.equal(d.inputHash, inputHash('a'));
  // Named by group only: the webhook sees the impersonated group and accepts the verdict as alice's.
  const byGroup = await approve(alice, 'payments-call', inputHash('b'));
  assert.equal(byGroup.status, 200);
  assert.equal((await decision('payments-call')).approver, 'alice@example.com');
});

test('the chart\'s grant holds the controller\'s own token to the configured names: the API server refuses it any other user or group', async () => {
  const asController = (as: string, asGroups: string[] = []) =>
    h.cp.kubectl(['auth', 'can-i', 'get', 'actionapprovals', '-n', 'agents'], { kubeconfig: h.kubeconfig, as, asGroups });
  // Granted in the previous test; the names it lists pass the impersonation check (can-i then answers for the person).
  await until(async () => {
    const r = await asController('alice@example.com', ['payments']);
    return /cannot impersonate/.test(r.stderr) ? undefined : r;
  }, 'the listed names to pass the impersonation check');
  for (const [as, groups] of [['eve@example.com', []], ['alice@example.com', ['people']], ['alice@example.com', ['system:masters']], ['kubernetes-admin', []]] as const) {
    const r = await asController(as, [...groups]);
    assert.notEqual(r.code, 0, `${as} ${groups.join(',')}`);
    assert.match(r.stderr, /cannot impersonate/, `${as} ${groups.join(',')}: ${r.stderr}`);
  }
});

/**
 * A stand-in for the authenticating proxy: every request goes to the proxy
 * listener with the client certificate, as alice (the browser's own
 * x-forwarded-* headers are dropped, as a real proxy must).
 */
function standInProxy(): Promise<Server> {
  const server = createServer((req, res) => {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith('x-forwarded-') && k !== 'host'));
    const upstream = request(
      { host: '127.0.0.1', port, path: req.url, method: req.method, headers: { ...headers, ...alice }, ca: h.controllers[0]!.tls.caPem, cert: pem('proxy.crt'), key: pem('proxy.key') },
      (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('in Chromium behind the proxy: no token asked, a click on Approve records the verdict as the person the proxy named', async () => {
  await h.apply(heldWrite('browser-call', ['user:alice@example.com'], inputHash('9')));
  const proxy = await standInProxy();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/approvals/?id=req-browser-call`);
    const card = page.locator('article.call.focus');
    await card.waitFor();
    assert.equal(await card.getAttribute('data-id'), 'agents/browser-call');
    assert.equal(await page.locator('#login').isHidden(), true);
    assert.match((await page.locator('#signed-in').textContent()) ?? '', /alice@example\.com/);
    await card.locator('button.approve').click();
    await page.locator('article.call[data-id="agents/browser-call"]').waitFor({ state: 'detached' });
    const d = await decision('browser-call');
    assert.equal(d.approver, 'alice@example.com');
    assert.equal(d.inputHash, inputHash('9'));
  } finally {
    await browser.close();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  }
});

// Last: it replaces the proxy's CA the tests above rely on.
test('a rotated proxy CA is trusted without a restart, and the old one no longer is', async () => {
  const handshake = (cert: string): Promise<number | string> =>
    viaProxy({ path: '/approvals/events', headers: alice, cert }).then((r) => r.status, (e: Error) => `refused: ${e.message}`);
  assert.equal(await handshake('proxy'), 200);
  assert.match(String(await handshake('next-proxy')), /^refused/, 'the next CA is not trusted yet');
  // As the kubelet swaps a Secret volume: the new file replaces the old in one step.
  writeFileSync(join(dir, 'rotating.crt'), pem('next-ca.crt'));
  renameSync(join(dir, 'rotating.crt'), join(dir, 'proxy-ca.crt'));
  await until(async () => (await handshake('next-proxy')) === 200, 'the listener to trust the next CA');
  assert.match(String(await handshake('proxy')), /^refused/, 'the old CA is no longer trusted');
  assert.ok(h.logs.some((l) => /approval proxy CA reloaded from its files/.test(l)));
});
