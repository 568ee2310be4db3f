import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpStatusFor, jsonRpcError, errorBody, jsonRpcCodeFor } from '../../src/gate/error-response.ts';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';

test('policy refusals are 403, malformed input 400, limits 413, no bundle 503', () => {
  assert.equal(httpStatusFor(ErrorCodes.DENIED), 403);
  assert.equal(httpStatusFor(ErrorCodes.ESCALATION_TIMEOUT), 403);
  assert.equal(httpStatusFor(ErrorCodes.JSON_DUPLICATE_KEY), 400);
  assert.equal(httpStatusFor(ErrorCodes.BODY_TOO_LARGE), 413);
  assert.equal(httpStatusFor(ErrorCodes.POLICY_NO_BUNDLE), 503);
  assert.equal(httpStatusFor(ErrorCodes.UPSTREAM_TIMEOUT), 504);
});

test('every code has a distinct-enough JSON-RPC code, in the JSON-RPC ranges', () => {
  for (const code of Object.values(ErrorCodes)) {
    const n = jsonRpcCodeFor(code);
    assert.ok((n <= -32000 && n >= -32099) || (n <= -32600 && n >= -32700), code);
  }
});

test('bodies carry code, reason and trace ID', () => {
  const e = new PortcullisError(ErrorCodes.DENIED, 'writes to /prod/ are denied');
  assert.deepEqual(errorBody(e, { traceId: 't1', decisionId: 'd1' }), {
    error: { code: 'PORTCULLIS_DENIED', message: 'writes to /prod/ are denied', traceId: 't1', decisionId: 'd1' },
  });
  assert.deepEqual(jsonRpcError(7, e, { traceId: 't1' }), {
    jsonrpc: '2.0',
    id: 7,
    error: { code: -32001, message: 'writes to /prod/ are denied', data: { code: 'PORTCULLIS_DENIED', traceId: 't1' } },
  });
});
