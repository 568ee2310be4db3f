import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadControllerConfig } from '../../src/config/controller.ts';
import { isPortcullisError } from '../../src/errors.ts';

test('defaults, frozen', () => {
  const c = loadControllerConfig({ PORTCULLIS_POD_NAME: 'ctl-0' });
  assert.equal(c.namespace, 'portcullis-system');
  assert.equal(c.port, 8080);
  assert.equal(c.webhookPort, 9443);
  assert.equal(c.identity, 'ctl-0');
  assert.equal(c.controllerUrl, 'https://portcullis-controller.portcullis-system.svc:443', 'TLS by default');
  assert.equal(c.sidecarTls, true);
  assert.equal(c.bundleAuth, 'token');
  assert.equal(c.bundleSigningSecret, 'portcullis-bundle-signing');
  assert.equal(c.sidecarLedgerKeepSegments, 2);
  assert.equal(c.sidecarLedgerDurability, 'fsync', 'the safe durability by default');
  assert.ok(Object.isFrozen(c));
});

test('overrides win over the environment; bad values name the setting', () => {
  assert.equal(loadControllerConfig({ PORTCULLIS_CONTROLLER_PORT: '1' }, { port: '2' }).port, 2);
  assert.throws(() => loadControllerConfig({ PORTCULLIS_WEBHOOK_PORT: 'x' }), (e) => isPortcullisError(e) && e.code === 'PORTCULLIS_CONFIG' && e.details?.setting === 'PORTCULLIS_WEBHOOK_PORT');
  assert.throws(() => loadControllerConfig({ PORTCULLIS_WEBHOOK_CERT_MODE: 'magic' }), (e) => isPortcullisError(e) && e.details?.setting === 'PORTCULLIS_WEBHOOK_CERT_MODE');
  assert.throws(() => loadControllerConfig({}, { port: '70000' }), (e) => isPortcullisError(e) && e.details?.setting === '--port');
  assert.equal(loadControllerConfig({ PORTCULLIS_SIDECAR_LEDGER_DURABILITY: 'write' }).sidecarLedgerDurability, 'write');
  assert.throws(() => loadControllerConfig({ PORTCULLIS_SIDECAR_LEDGER_DURABILITY: 'none' }), (e) => isPortcullisError(e) && e.details?.setting === 'PORTCULLIS_SIDECAR_LEDGER_DURABILITY');
});

test('PORTCULLIS_SIDECAR_TLS points sidecars at the Service over https; plain http only when set to false', () => {
  const c = loadControllerConfig({ PORTCULLIS_SIDECAR_TLS: 'true' });
  assert.equal(c.sidecarTls, true);
  assert.equal(c.controllerUrl, 'https://portcullis-controller.portcullis-system.svc:443');
  const plain = loadControllerConfig({ PORTCULLIS_SIDECAR_TLS: 'false' });
  assert.equal(plain.controllerUrl, 'http://portcullis-controller.portcullis-system.svc:8080');
  assert.equal(loadControllerConfig({ PORTCULLIS_BUNDLE_AUTH: 'none' }).bundleAuth, 'none');
  assert.throws(() => loadControllerConfig({ PORTCULLIS_BUNDLE_AUTH: 'maybe' }), (e) => isPortcullisError(e) && e.details?.setting === 'PORTCULLIS_BUNDLE_AUTH');
  assert.throws(() => loadControllerConfig({ PORTCULLIS_SIDECAR_TLS: 'yes' }), (e) => isPortcullisError(e) && e.details?.setting === 'PORTCULLIS_SIDECAR_TLS');
});

test('PORTCULLIS_SIDECAR_OTEL_ENDPOINT: unset by default, an http(s) URL when set', () => {
  assert.equal(loadControllerConfig({}).sidecarOtelEndpoint, '');
  assert.equal(loadControllerConfig({ PORTCULLIS_SIDECAR_OTEL_ENDPOINT: 'http://jaeger.obs.svc:4318' }).sidecarOtelEndpoint, 'http://jaeger.obs.svc:4318');
  assert.throws(() => loadControllerConfig({ PORTCULLIS_SIDECAR_OTEL_ENDPOINT: 'jaeger:4318' }), (e) => isPortcullisError(e) && e.details?.setting === 'PORTCULLIS_SIDECAR_OTEL_ENDPOINT');
});

test('PORTCULLIS_SIDECAR_APPROVAL_PAGE_URL: empty by default, an http(s) URL when set', () => {
  assert.equal(loadControllerConfig({}).sidecarApprovalPageUrl, '');
  assert.equal(loadControllerConfig({ PORTCULLIS_SIDECAR_APPROVAL_PAGE_URL: 'https://portcullis.example.com/approvals/' }).sidecarApprovalPageUrl, 'https://portcullis.example.com/approvals/');
  assert.throws(() => loadControllerConfig({ PORTCULLIS_SIDECAR_APPROVAL_PAGE_URL: 'portcullis.example.com' }), (e) => isPortcullisError(e) && e.details?.setting === 'PORTCULLIS_SIDECAR_APPROVAL_PAGE_URL');
});

test('the authenticating proxy\'s listener: off by default; header names lower-cased and checked', () => {
  const c = loadControllerConfig({});
  assert.equal(c.approvalProxyCaFile, '');
  assert.equal(c.approvalProxyPort, 8443);
  assert.equal(c.approvalProxyUserHeader, 'x-forwarded-user');
  assert.equal(c.approvalProxyGroupsHeader, 'x-forwarded-groups');
  const on = loadControllerConfig({ PORTCULLIS_APPROVAL_PROXY_CA_FILE: '/ca.crt', PORTCULLIS_APPROVAL_PROXY_USER_HEADER: 'X-Auth-Request-User', PORTCULLIS_APPROVAL_PROXY_GROUPS_HEADER: '' });
  assert.equal(on.approvalProxyCaFile, '/ca.crt');
  assert.equal(on.approvalProxyUserHeader, 'x-auth-request-user');
  assert.equal(on.approvalProxyGroupsHeader, '');
  assert.throws(() => loadControllerConfig({ PORTCULLIS_APPROVAL_PROXY_USER_HEADER: '' }), (e) => isPortcullisError(e) && e.details?.setting === 'PORTCULLIS_APPROVAL_PROXY_USER_HEADER');
  assert.throws(() => loadControllerConfig({ PORTCULLIS_APPROVAL_PROXY_GROUPS_HEADER: 'x groups' }), (e) => isPortcullisError(e) && e.details?.setting === 'PORTCULLIS_APPROVAL_PROXY_GROUPS_HEADER');
});

test('who the approval proxy may speak for, and the names its certificate must carry: any user, no group and any certificate by default; system: names refused', () => {
  const c = loadControllerConfig({});
  assert.deepEqual([c.approvalProxyUsers, c.approvalProxyGroups, c.approvalProxyClientNames], [[], [], []]);
  const on = loadControllerConfig({
    PORTCULLIS_APPROVAL_PROXY_USERS: ' alice@example.com, oidc:bob ,alice@example.com',
    PORTCULLIS_APPROVAL_PROXY_GROUPS: 'payments',
    PORTCULLIS_APPROVAL_PROXY_CLIENT_NAMES: 'oauth2-proxy.auth.svc, spiffe://cluster.local/ns/auth/sa/oauth2-proxy',
  });
  assert.deepEqual(on.approvalProxyUsers, ['alice@example.com', 'oidc:bob']);
  assert.deepEqual(on.approvalProxyGroups, ['payments']);
  assert.deepEqual(on.approvalProxyClientNames, ['oauth2-proxy.auth.svc', 'spiffe://cluster.local/ns/auth/sa/oauth2-proxy']);
  assert.ok(Object.isFrozen(on.approvalProxyGroups));
  for (const [name, value] of [['PORTCULLIS_APPROVAL_PROXY_USERS', 'alice,system:admin'], ['PORTCULLIS_APPROVAL_PROXY_GROUPS', 'System:Masters'], ['PORTCULLIS_APPROVAL_PROXY_CLIENT_NAMES', 'a proxy']] as const) {
    assert.throws(() => loadControllerConfig({ [name]: value }), (e) => isPortcullisError(e) && e.details?.setting === name, name);
  }
});

test('PORTCULLIS_WEBHOOK_IP_SANS: none by default, a list of IP addresses, anything else refused by name', () => {
  assert.deepEqual(loadControllerConfig({}).webhookIpSans, []);
  assert.deepEqual(loadControllerConfig({ PORTCULLIS_WEBHOOK_IP_SANS: ' 127.0.0.1, ::1 ' }).webhookIpSans, ['127.0.0.1', '::1']);
  assert.throws(() => loadControllerConfig({ PORTCULLIS_WEBHOOK_IP_SANS: '127.0.0.1,controller.local' }), /PORTCULLIS_WEBHOOK_IP_SANS/);
});
