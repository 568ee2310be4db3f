/**
 * Who the authenticating proxy's headers name (proxy-sign-in.ts): one person,
 * their groups, never a name under system:; narrowed to whom it may speak for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPortcullisError } from '../../../src/errors.ts';
import { DEFAULT_PROXY_HEADERS, proxyUser, withinScope } from '../../../src/controller/approvals/proxy-sign-in.ts';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return isPortcullisError(e) ? e.code : 'not a PortcullisError';
  }
  return undefined;
};

test('the person and their groups from the proxy\'s headers, groups trimmed and without repeats', () => {
  assert.deepEqual(proxyUser({ 'x-forwarded-user': ' alice@example.com ', 'x-forwarded-groups': 'payments, people,,payments' }, DEFAULT_PROXY_HEADERS), { name: 'alice@example.com', groups: ['payments', 'people'] });
  assert.deepEqual(proxyUser({ 'x-forwarded-user': 'alice' }, DEFAULT_PROXY_HEADERS), { name: 'alice', groups: [] });
  // Configured names; a groups header of "" reads no groups.
  assert.deepEqual(proxyUser({ 'x-auth-request-user': 'bob', 'x-forwarded-groups': 'admins' }, { user: 'x-auth-request-user', groups: '' }), { name: 'bob', groups: [] });
});

test('no person, two persons, or a name under system: is refused', () => {
  assert.equal(code(() => proxyUser({}, DEFAULT_PROXY_HEADERS)), 'PORTCULLIS_UNAUTHENTICATED');
  assert.equal(code(() => proxyUser({ 'x-forwarded-user': '  ' }, DEFAULT_PROXY_HEADERS)), 'PORTCULLIS_UNAUTHENTICATED');
  // Node joins a repeated header with ", ".
  assert.equal(code(() => proxyUser({ 'x-forwarded-user': 'alice, mallory' }, DEFAULT_PROXY_HEADERS)), 'PORTCULLIS_UNAUTHENTICATED');
  assert.equal(code(() => proxyUser({ 'x-forwarded-user': 'system:serviceaccount:kube-system:admin' }, DEFAULT_PROXY_HEADERS)), 'PORTCULLIS_FORBIDDEN');
  assert.equal(code(() => proxyUser({ 'x-forwarded-user': 'mallory', 'x-forwarded-groups': 'people,System:Masters' }, DEFAULT_PROXY_HEADERS)), 'PORTCULLIS_FORBIDDEN');
});

test('within the scope: a listed user keeps only the listed groups; an unlisted user is refused; no user list admits anyone', () => {
  const alice = { name: 'alice@example.com', groups: ['payments', 'people'] };
  assert.deepEqual(withinScope(alice, { users: ['alice@example.com'], groups: ['payments'] }), { name: 'alice@example.com', groups: ['payments'] });
  assert.deepEqual(withinScope(alice, { users: [], groups: [] }), { name: 'alice@example.com', groups: [] }, 'no groups listed: none impersonated');
  assert.equal(code(() => withinScope(alice, { users: ['carol@example.com'], groups: ['payments'] })), 'PORTCULLIS_FORBIDDEN');
});
