import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRewrite } from '../../src/gate/rewrite.ts';
import { ErrorCodes } from '../../src/errors.ts';
import type { Action } from '../../src/gate/types.ts';

const http: Action = {
  type: 'http',
  tool: 'deploy',
  http: { method: 'POST', scheme: 'http', host: 'h', port: 80, path: '/deploy/prod', rawPath: '/deploy/prod', query: {}, headers: { a: '1' }, body: { x: 1 }, bodySha256: 'f' },
};

test('an http rewrite changes only what it names and leaves the original untouched', () => {
  const r = applyRewrite(http, { http: { path: '/deploy/dry run', query: { dryRun: ['true'] }, headers: { 'X-Mode': 'dry' } } });
  assert.equal(r.http!.path, '/deploy/dry run');
  assert.equal(r.http!.rawPath, '/deploy/dry%20run');
  assert.deepEqual(r.http!.query, { dryRun: ['true'] });
  assert.deepEqual(r.http!.headers, { a: '1', 'x-mode': 'dry' });
  assert.equal(http.http!.path, '/deploy/prod');
  const b = applyRewrite(http, { http: { body: { x: 2 } } });
  assert.equal(b.http!.bodySha256, undefined);
});

test('a rewrite path that is not normalised, or that does not fit the action, is refused', () => {
  const refused = (e: any): boolean => e.code === ErrorCodes.REWRITE_NOT_ALLOWED;
  assert.throws(() => applyRewrite(http, { http: { path: '/sandbox/../prod' } }), refused);
  assert.throws(() => applyRewrite(http, { mcp: { arguments: {} } }), refused);
  const mcp: Action = { type: 'mcp', tool: 'fs', mcp: { server: 'fs', method: 'tools/list' } };
  assert.throws(() => applyRewrite(mcp, { mcp: { arguments: {} } }), refused);
});

test('an mcp rewrite replaces name and arguments', () => {
  const mcp: Action = { type: 'mcp', tool: 'deploy', mcp: { server: 'ops', method: 'tools/call', name: 'deploy', arguments: { env: 'prod' }, id: 1 } };
  const r = applyRewrite(mcp, { mcp: { name: 'deploy_dry_run', arguments: { env: 'prod' } } });
  assert.equal(r.tool, 'deploy_dry_run');
  assert.equal(r.mcp!.name, 'deploy_dry_run');
});
