/**
 * docs/errors.md is the one table of error codes: every code in
 * src/errors.ts is in it once, with the HTTP status and JSON-RPC number the
 * gate really sends, and it names no code that does not exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCodes, type ErrorCode } from '../../src/errors.ts';
import { httpStatusFor, jsonRpcCodeFor, toPortcullisError } from '../../src/gate/error-response.ts';

function documentedRows(): Map<string, { http: number; jsonRpc: number; meaning: string }> {
  const rows = new Map<string, { http: number; jsonRpc: number; meaning: string }>();
  for (const line of readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').split('\n')) {
    const m = /^\| `(PORTCULLIS_[A-Z_]+)` \| (\d+) \| (-?\d+) \| (.+) \|$/.exec(line);
    if (!m) continue;
    assert.ok(!rows.has(m[1]!), `${m[1]} is documented twice`);
    rows.set(m[1]!, { http: Number(m[2]), jsonRpc: Number(m[3]), meaning: m[4]!.trim() });
  }
  return rows;
}

test('every error code is documented once, with the status and JSON-RPC number it is sent with', () => {
  const rows = documentedRows();
  const codes = Object.values(ErrorCodes) as ErrorCode[];
  assert.deepEqual(codes.filter((c) => !rows.has(c)), [], 'codes missing from docs/errors.md');
  assert.deepEqual([...rows.keys()].filter((c) => !codes.includes(c as ErrorCode)), [], 'docs/errors.md names codes that do not exist');
  for (const code of codes) {
    const row = rows.get(code)!;
    assert.equal(row.http, httpStatusFor(code), `${code}: HTTP status`);
    assert.equal(row.jsonRpc, jsonRpcCodeFor(code), `${code}: JSON-RPC number`);
    assert.ok(row.meaning.length > 10, `${code}: say what it means`);
  }
});

test('an unanticipated error is PORTCULLIS_INTERNAL (500, JSON-RPC internal error), never passed off as the upstream', () => {
  const e = toPortcullisError(new TypeError('x is undefined'));
  assert.equal(e.code, ErrorCodes.INTERNAL);
  assert.equal(httpStatusFor(e.code), 500);
  assert.equal(jsonRpcCodeFor(e.code), -32603);
  assert.equal(toPortcullisError(new Error('socket hang up'), ErrorCodes.UPSTREAM).code, ErrorCodes.UPSTREAM);
});
