// Numbers as OPA has them wherever a policy can observe them: exact
// comparison beyond f64, big-integer remainder and negation, the nearest f64
// of a written number, Go's %v, ranges beyond 2^64. Each value is checked
// against `opa eval` (v1.22.4) digit for digit; the answers that were
// wrong are pinned too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';

const RULES: Record<string, string> = {
  rem_2_64: '18446744073709551617 % 18446744073709551616',
  rem_neg: '-18446744073709551617 % 10',
  abs_min_i64: 'abs(-9223372036854775808)',
  abs_huge: 'abs(-1e400)',
  abs_huge_positive: 'abs(1e400)',
  abs_tiny: 'abs(-1.5e-400)',
  neg_min_i64: '0 - -9223372036854775808',
  gt_huge: '1e400 > 1e399',
  eq_huge: '1e400 == 1e399',
  gt_tiny: '1e-400 > 0',
  lt_19_digits: '0.1234567890123456789 < 0.1234567890123456790',
  gt_19_digits: '1234567890.123456789 < 1234567890.123456790',
  gt_20_digits: '1.00000000000000000001 > 1',
  eq_20_digits: '1.00000000000000000001 == 1',
  i64_edge: '9223372036854775807 < 9223372036854775808',
  f64_vs_int: '9007199254740993 > 9007199254740992.0',
  sorted: 'sort([1e400, 1e399, 3, 1e-400, 0])',
  set_distinct: '{1e400, 1e399}',
  v_1e23: 'sprintf("%v", [100000000000000000000000.0])',
  v_19_digits: 'sprintf("%v", [0.1234567890123456789])',
  v_huge: 'sprintf("%v|%e|%d|%10v|%v", [1e400, 1e400, 1e400, 1e400, -1e400])',
  v_tiny: 'sprintf("%v", [1e-400])',
  v_subnormal: 'sprintf("%v %v", [5e-324, 2.2250738585072014e-308])',
  v_parse: 'sprintf("%v", [123456789.123456789])',
  range_step_big: 'numbers.range_step(0, 36893488147419103232, 36893488147419103231)',
  range_step_down: 'numbers.range_step(36893488147419103232, 0, 18446744073709551616)',
  range_big: 'numbers.range(18446744073709551616, 18446744073709551618)',
  range_step_huge_step: 'numbers.range_step(0, 3, 1e400)',
  // A computed float equals the literal it prints as (OPA computes with decimal-friendly big floats).
  float_vs_literal: 'units.parse("1e-2") == 0.01',
  sum_vs_literal: '0.1 + 0.2 == 0.3',
};

test('exact numbers: every value as opa eval gives it', async () => {
  const [opa, ours] = await Promise.all([opaAnswers(RULES), portcullisAnswers(RULES)]);
  assert.deepEqual(ours, opa);
  // The cases that were wrong, pinned.
  assert.equal(ours.rem_2_64, '[1]');
  assert.equal(ours.abs_min_i64, '[9223372036854775808]');
  assert.equal(ours.gt_huge, '[true]');
  assert.equal(ours.gt_tiny, '[true]');
  assert.equal(ours.lt_19_digits, '[true]');
  assert.equal(ours.v_1e23, '["1e+23"]');
  assert.equal(ours.v_huge, '["1e400|%!e(string=1e400)|%!d(string=1e400)|     1e400|-1e400"]');
  assert.equal(ours.range_step_big, '[[0,36893488147419103231]]');
});
