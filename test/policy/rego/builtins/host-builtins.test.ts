// The host's builtins: time.now_ns as exact JSON text, fixed per evaluation.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createHostBuiltins } from '../../../../src/policy/rego/host-builtins.ts';

const text = (v: unknown): string => new TextDecoder().decode(new Uint8Array(v as ArrayBuffer));

it('time.now_ns is the clock, exact to the nanosecond, as JSON text', () => {
  let t = 1700000000123456789n;
  const host = createHostBuiltins(() => t++);
  const now = host.builtins['time.now_ns']!;
  assert.equal(text(now()), '1700000000123456789');
  assert.equal(text(now()), '1700000000123456790');
});

it('beginEvaluation fixes the instant for every call until the next evaluation', () => {
  let t = 10n;
  const host = createHostBuiltins(() => t++);
  const now = host.builtins['time.now_ns']!;
  host.beginEvaluation();
  assert.equal(text(now()), '10');
  assert.equal(text(now()), '10');
  host.beginEvaluation(42n);
  assert.equal(text(now()), '42');
  host.beginEvaluation();
  assert.equal(text(now()), '11');
});
