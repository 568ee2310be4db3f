import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { runBundleTests, runTestCases } from '../../src/policy/bundle-tests.ts';
import type { BundleSource } from '../../src/policy/types.ts';

const SOURCE: BundleSource = {
  modules: [
    { path: 'p.rego', source: 'package portcullis\n\ndefault decision := {"effect": "deny", "reason": "default"}\n\ndecision := {"effect": "allow", "reason": "ok"} if input.ok\n' },
    {
      path: 'p_test.rego',
      source: 'package portcullis\n\ntest_ok if decision.effect == "allow" with input as {"ok": true}\n\ntest_wrong if decision.effect == "allow"\n\ntest_value := 7\n',
    },
  ],
  data: {},
  entrypoints: ['portcullis/decision'],
  tools: [],
  tests: [
    { name: 'allowed', input: { ok: true }, want: { effect: 'allow', reason: 'ok' } },
    { name: 'wrong effect', input: {}, want: { effect: 'allow' } },
    { name: 'wrong reason', input: {}, want: { effect: 'deny', reason: 'other' } },
  ],
};

test('cases and test_ rules pass and fail with reasons', async () => {
  const report = await runBundleTests(SOURCE, new PortcullisCompiler());
  const byName = new Map(report.results.map((r) => [r.name, r]));
  assert.equal(byName.get('allowed')?.passed, true);
  assert.match(byName.get('wrong effect')?.reason ?? '', /effect is "deny", want "allow"/);
  assert.match(byName.get('wrong reason')?.reason ?? '', /reason is "default", want "other"/);
  assert.equal(byName.get('portcullis.test_ok')?.passed, true);
  assert.match(byName.get('portcullis.test_wrong')?.reason ?? '', /undefined/);
  assert.match(byName.get('portcullis.test_value')?.reason ?? '', /result is 7, want true/);
  assert.deepEqual([report.passed, report.failed], [2, 4]);
});

test('runTestCases runs the cases of a compiled bundle', async () => {
  const bundle = await new PortcullisCompiler().compile({ ...SOURCE, modules: [SOURCE.modules[0]!] });
  const report = await runTestCases(bundle);
  assert.deepEqual([report.passed, report.failed], [1, 2]);
  assert.equal(report.digest, bundle.digest);
});
