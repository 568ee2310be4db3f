import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHttpAction, buildConnectAction, isJsonContentType } from '../../src/gate/http-action.ts';
import { DEFAULT_REDACTED_HEADERS, hashSecret, forwardHeaders } from '../../src/gate/headers.ts';
import { ErrorCodes } from '../../src/errors.ts';

const base = {
  method: 'post',
  scheme: 'http' as const,
  authority: 'Payments.LOCAL:8080',
  target: '/v1/%63harges?currency=eur&x=1&x=2',
  headers: {
    'content-type': 'application/json',
    authorization: 'Bearer s3cret',
    connection: 'keep-alive, x-hop',
    'x-hop': 'gone',
    'x-request-id': 'r1',
  },
  body: Buffer.from('{"amount":5000}'),
};

test('an HTTP request becomes an http action with normalised and raw path, query, JSON body', () => {
  const { action, forwardPath } = buildHttpAction(base, 'payments', DEFAULT_REDACTED_HEADERS);
  assert.equal(action.type, 'http');
  assert.equal(action.tool, 'payments');
  const h = action.http!;
  assert.equal(h.method, 'POST');
  assert.equal(h.host, 'payments.local');
  assert.equal(h.port, 8080);
  assert.equal(h.path, '/v1/charges');
  assert.equal(h.rawPath, '/v1/%63harges');
  assert.equal(forwardPath, '/v1/charges');
  assert.deepEqual(h.query, { currency: ['eur'], x: ['1', '2'] });
  assert.deepEqual(h.body, { amount: 5000 });
  assert.match(h.bodySha256!, /^[0-9a-f]{64}$/);
});

test('secret headers are hashed; hop-by-hop headers never reach the policy', () => {
  const h = buildHttpAction(base, 'payments', DEFAULT_REDACTED_HEADERS).action.http!;
  assert.equal(h.headers.authorization, hashSecret('Bearer s3cret'));
  assert.equal(h.headers['x-request-id'], 'r1');
  assert.equal(h.headers.connection, undefined);
  assert.equal(h.headers['x-hop'], undefined);
  const fwd = forwardHeaders(base.headers, ['x-request-id']);
  assert.deepEqual(Object.keys(fwd).sort(), ['authorization', 'content-type']);
});

test('a non-JSON body is hashed but not parsed; a JSON body with duplicate keys is refused', () => {
  const text = buildHttpAction({ ...base, headers: { 'content-type': 'text/plain' }, body: Buffer.from('hi') }, 't', []).action.http!;
  assert.equal(text.body, undefined);
  assert.ok(text.bodySha256);
  assert.throws(
    () => buildHttpAction({ ...base, body: Buffer.from('{"amount":1,"amount":9999}') }, 't', []),
    (e: any) => e.code === ErrorCodes.JSON_DUPLICATE_KEY,
  );
});

test('CONNECT becomes a connect action on the normalised host and port', () => {
  const a = buildConnectAction('API.Stripe.com:443', {}, []);
  assert.equal(a.type, 'connect');
  assert.equal(a.http!.host, 'api.stripe.com');
  assert.equal(a.http!.port, 443);
});

test('a JSON media type is application/json or any …+json, in any case, parameters and surrounding space ignored', () => {
  const yes = ['application/json', 'Application/JSON; charset=utf-8', ' application/json ', 'application/ld+json', 'text/foo+JSON;x=1', 'application/problem+json  ; q=1', '\tapplication/json\t;', 'application/json;'];
  const no = ['application/jsonx', 'text/plain', '', ';', 'json', 'application/ json', 'a+json b', 'x+jsonx', 'multipart/form-data; boundary=+json', 'application/x-ndjson'];
  for (const t of yes) assert.equal(isJsonContentType(t), true, t);
  for (const t of no) assert.equal(isJsonContentType(t), false, t);
  assert.equal(isJsonContentType(undefined), false);
  assert.equal(isJsonContentType(['application/json']), false, 'a repeated header is not taken for JSON');
});
