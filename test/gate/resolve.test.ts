import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveDecision, type ResolveOptions } from '../../src/gate/resolve.ts';
import { buildPolicyInput, UNKNOWN_AGENT, withApproval } from '../../src/gate/input.ts';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';
import { functionEngine } from './function-engine.ts';
import type { Action } from '../../src/gate/types.ts';

const action: Action = {
  type: 'http',
  tool: 'deploy',
  http: { method: 'POST', scheme: 'http', host: 'h', port: 80, path: '/deploy/prod', rawPath: '/deploy/prod', query: {}, headers: {} },
};
const input = buildPolicyInput(action, UNKNOWN_AGENT, { time: new Date(0), mode: 'enforce', traceId: 't' });
const opts = (mode: 'enforce' | 'observe' = 'enforce'): ResolveOptions => ({ mode, now: () => 0 });

test('allow forwards with the constraints', () => {
  const r = resolveDecision(functionEngine(() => ({ effect: 'allow', reason: 'ok', constraints: { timeoutMs: 10 } })), input, opts());
  assert.deepEqual(r.outcome, { kind: 'forward', action, constraints: { timeoutMs: 10 } });
  assert.equal(r.enforced, 'allow');
});

test('deny carries DENIED and the reason', () => {
  const r = resolveDecision(functionEngine(() => ({ effect: 'deny', reason: 'no prod' })), input, opts());
  assert.equal(r.outcome.kind, 'deny');
  assert.equal(r.outcome.kind === 'deny' && r.outcome.error.code, ErrorCodes.DENIED);
  assert.equal(r.outcome.kind === 'deny' && r.outcome.error.message, 'no prod');
});

test('compute rewrites, evaluates again, and forwards the rewritten action only when allowed', () => {
  const engine = functionEngine((i) =>
    i.action.http.path.startsWith('/dry-run/')
      ? { effect: 'allow', reason: 'dry run', constraints: { maxResponseBytes: 5 } }
      : { effect: 'compute', reason: 'to dry run', rewrite: { http: { path: '/dry-run' + i.action.http.path } } },
  );
  const r = resolveDecision(engine, input, opts());
  assert.equal(r.enforced, 'compute');
  assert.equal(r.outcome.kind === 'forward' && r.outcome.action.http!.path, '/dry-run/deploy/prod');
  assert.deepEqual(r.outcome.kind === 'forward' && r.outcome.constraints, { maxResponseBytes: 5 });
  assert.deepEqual(r.outcome.kind === 'forward' && r.outcome.rewrite, { http: { path: '/dry-run/deploy/prod' } }, 'the rewrite travels as data');
  assert.equal(r.rewritten!.evaluation.decision.effect, 'allow');
  assert.equal(engine.calls.length, 2);

  const loop = functionEngine(() => ({ effect: 'compute', reason: 'again', rewrite: { http: { path: '/x' } } }));
  const r2 = resolveDecision(loop, input, opts());
  assert.equal(r2.outcome.kind === 'deny' && r2.outcome.error.code, ErrorCodes.REWRITE_NOT_ALLOWED);
});

test('escalate is returned to the caller; escalating again after approval is refused', () => {
  const engine = functionEngine(() => ({ effect: 'escalate', reason: 'big', escalation: { approvers: ['g'], timeoutSeconds: 5 } }));
  const r = resolveDecision(engine, input, opts());
  assert.deepEqual(r.outcome, { kind: 'escalate', escalation: { approvers: ['g'], timeoutSeconds: 5 }, reason: 'big' });
  const approved = withApproval(input, { id: 'a', approver: 'me', verdict: 'approved', inputHash: 'h', at: 'now' });
  const r2 = resolveDecision(engine, approved, { ...opts(), afterApproval: true });
  assert.equal(r2.outcome.kind === 'deny' && r2.outcome.error.code, ErrorCodes.ESCALATION_REJECTED);
});

test('fail closed: no bundle, engine error, malformed decision', () => {
  const code = (r: ReturnType<typeof resolveDecision>): string | false => r.outcome.kind === 'deny' && r.outcome.error.code;
  assert.equal(code(resolveDecision(undefined, input, opts())), ErrorCodes.POLICY_NO_BUNDLE);
  assert.equal(code(resolveDecision(functionEngine(undefined), input, opts())), ErrorCodes.POLICY_NO_BUNDLE);
  const throwing = functionEngine(() => {
    throw new PortcullisError(ErrorCodes.POLICY_EVAL, 'boom');
  });
  assert.equal(code(resolveDecision(throwing, input, opts())), ErrorCodes.POLICY_EVAL);
  assert.equal(code(resolveDecision(functionEngine(() => { throw new Error('raw'); }), input, opts())), ErrorCodes.POLICY_EVAL);
  assert.equal(code(resolveDecision(functionEngine(() => undefined), input, opts())), ErrorCodes.DECISION_INVALID);
});

test('a slow evaluation is not refused: time depends on the machine, and a decision must not', () => {
  let t = 0;
  const slow = resolveDecision(functionEngine(() => ({ effect: 'allow', reason: 'ok' })), input, { ...opts(), now: () => (t += 5000) });
  assert.equal(slow.outcome.kind, 'forward');
  assert.equal(slow.evaluation.elapsedMs, 5000);
});

test('observe mode forwards a would-deny unchanged and records the real decision', () => {
  const r = resolveDecision(functionEngine(() => ({ effect: 'deny', reason: 'no' })), input, opts('observe'));
  assert.equal(r.outcome.kind, 'forward');
  assert.equal(r.enforced, 'allow');
  assert.equal(r.evaluation.decision.effect, 'deny');
  const c = resolveDecision(functionEngine(() => ({ effect: 'compute', reason: 'x', rewrite: { http: { path: '/y' } } })), input, opts('observe'));
  assert.equal(c.outcome.kind === 'forward' && c.outcome.action, action);
  assert.equal(c.rewritten!.action.http!.path, '/y');
});

test('the input JSON text given is passed to the first evaluation only: a rewritten input is evaluated from itself', () => {
  const texts: (string | undefined)[] = [];
  const inner = functionEngine((i) =>
    i.action.http.path.startsWith('/dry-run/') ? { effect: 'allow', reason: 'dry run' } : { effect: 'compute', reason: 'to dry run', rewrite: { http: { path: '/dry-run' + i.action.http.path } } },
  );
  const engine = { ...inner, evaluate: (i: unknown, e?: string, json?: string) => (texts.push(json), inner.evaluate(i, e)) };
  for (const mode of ['enforce', 'observe'] as const) {
    texts.length = 0;
    const r = resolveDecision(engine, input, { ...opts(mode), inputJson: '{"given":true}' });
    assert.equal(r.rewritten?.input.action.http!.path, '/dry-run/deploy/prod');
    assert.deepEqual(texts, ['{"given":true}', undefined], mode);
  }
});
