import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateDecision } from '../../src/gate/decision-schema.ts';
import { ErrorCodes } from '../../src/errors.ts';

const invalid = (e: any): boolean => e.code === ErrorCodes.DECISION_INVALID;

test('a full decision passes and comes back clean', () => {
  const d = validateDecision({
    effect: 'allow',
    reason: 'ok',
    rule: 'reads',
    constraints: { timeoutMs: 5000, maxResponseBytes: 1024, stripHeaders: ['X-Debug'], redact: ['$.card.number'] },
  });
  assert.deepEqual(d, { effect: 'allow', reason: 'ok', constraints: { timeoutMs: 5000, maxResponseBytes: 1024, stripHeaders: ['x-debug'], redact: ['$.card.number'] } });
});

test('escalate gets default escalation; compute needs a rewrite', () => {
  assert.deepEqual(validateDecision({ effect: 'escalate', reason: 'big' }).escalation, { approvers: [], timeoutSeconds: 0 });
  assert.throws(() => validateDecision({ effect: 'compute', reason: 'x' }), invalid);
  assert.ok(validateDecision({ effect: 'compute', reason: 'x', rewrite: { http: { path: '/dry-run/x' } } }).rewrite);
});

test('anything off-schema is refused', () => {
  const bad: unknown[] = [
    undefined,
    'allow',
    [],
    { effect: 'permit', reason: '' },
    { effect: 'allow' },
    { effect: 'allow', reason: 1 },
    { effect: 'allow', reason: '', constraints: { maxResponseByte: 10 } },
    { effect: 'allow', reason: '', constraints: { timeoutMs: -1 } },
    { effect: 'allow', reason: '', constraints: { timeoutMs: 1.5 } },
    { effect: 'allow', reason: '', constraints: { redact: ['card.number'] } },
    { effect: 'allow', reason: '', constraints: { redact: ['$.card[number'] } },
    { effect: 'allow', reason: '', constraints: { redact: ['$'] } },
    { effect: 'compute', reason: '', rewrite: { http: { method: 'GET /admin' } } },
    { effect: 'compute', reason: '', rewrite: { http: { port: 70000 } } },
    { effect: 'compute', reason: '', rewrite: { http: { host: 'evil.example/x' } } },
    { effect: 'compute', reason: '', rewrite: { http: { headers: { 'x-a': 'b\r\nx-c: d' } } } },
    { effect: 'compute', reason: '', rewrite: {} },
    { effect: 'compute', reason: '', rewrite: { http: { path: 'relative' } } },
    { effect: 'compute', reason: '', rewrite: { http: { verb: 'GET' } } },
    { effect: 'compute', reason: '', rewrite: { mcp: { arguments: [] } } },
    { effect: 'escalate', reason: '', escalation: { approvers: 'me' } },
  ];
  for (const b of bad) assert.throws(() => validateDecision(b), invalid, JSON.stringify(b));
});

test('a rewrite nesting deeper than a request body may is refused before anything executes', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 300; i++) deep = { d: deep };
  for (const rewrite of [{ http: { body: deep } }, { mcp: { arguments: { a: deep } } }]) {
    assert.throws(() => validateDecision({ effect: 'compute', reason: 'r', rewrite }), (e: any) => e.code === ErrorCodes.DECISION_INVALID && /deeper than 256/.test(e.message));
  }
  let shallow: unknown = 1;
  for (let i = 0; i < 200; i++) shallow = { d: shallow };
  assert.equal(validateDecision({ effect: 'compute', reason: 'r', rewrite: { http: { body: shallow } } }).effect, 'compute');
});
