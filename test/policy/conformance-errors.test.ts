// The conformance runner's judgement of cases that expect an error: the OPA
// code must match (scripts/conformance/error-match.ts), so a wrong error is
// not a pass. Cases run through the real compiler and engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCase } from '../../scripts/conformance/run-case.ts';
import type { ConformanceCase } from '../../scripts/conformance/cases.ts';
import { opaCodeOf } from '../../scripts/conformance/error-match.ts';

function errorCase(wanted: Partial<ConformanceCase>, rule: string): ConformanceCase {
  return { file: 'x/y.yaml', folder: 'x', note: 'x', query: 'data.t.p = x', modules: [`package t\n\n${rule}\n`], strict_error: true, ...wanted };
}

// to_number("abc") is a builtin error in OPA (`eval_builtin_error: to_number: strconv.ParseFloat: …`).
const BUILTIN_ERROR = 'p := to_number(input.s)';

test('an evaluation error with another OPA code fails the case; with loose errors it passed', async () => {
  const c = { ...errorCase({ want_error_code: 'eval_type_error' }, BUILTIN_ERROR), input: { s: 'abc' } };
  const strict = await runCase(c);
  assert.equal(strict.status, 'fail');
  assert.match(strict.reason!, /want error code eval_type_error, got eval_builtin_error/);
  assert.equal((await runCase(c, { strictErrors: false })).status, 'pass');
});

test('the expected code passes', async () => {
  const c = { ...errorCase({ want_error_code: 'eval_builtin_error' }, BUILTIN_ERROR), input: { s: 'abc' } };
  assert.equal((await runCase(c)).status, 'pass');
  const conflict = errorCase({ want_error_code: 'eval_conflict_error' }, 'p := input.a if true\np := input.b if true');
  assert.equal((await runCase({ ...conflict, input: { a: 1, b: 2 } })).status, 'pass');
});

test('a compile error never meets an evaluation error code, and text expectations still need their text', async () => {
  const unsafe = errorCase({ want_error_code: 'eval_type_error' }, 'p if { x > 1 }');
  const r = await runCase(unsafe);
  assert.equal(r.status, 'fail');
  assert.match(r.reason!, /compile error/);
  assert.equal((await runCase(errorCase({ want_error: 'rego_unsafe_var_error: var x is unsafe' }, 'p if { x > 1 }'))).status, 'pass');
  assert.equal((await runCase(errorCase({ want_error: 'rego_type_error' }, 'p if { x > 1 }'))).status, 'fail');
});

test('the OPA code of an error: compile details, conflicts, abort text', () => {
  assert.equal(opaCodeOf(new Error('evaluating "t/p" failed: eval_type_error: count: operand 1 must be …')), 'eval_type_error');
  assert.equal(opaCodeOf(new Error('something else')), undefined);
});
