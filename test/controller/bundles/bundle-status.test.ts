/** A PolicyBundle's status from its latest build: three conditions, the digests built and served, transition times that move only with a condition's status. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleStatus } from '../../../src/controller/bundles/bundle-status.ts';
import type { BuildOutcome } from '../../../src/controller/bundles/build-bundle.ts';

const now = new Date('2026-02-03T04:05:06.789Z');
const tests = { passed: 2, failed: 1, results: [{}, {}, {}], digest: 'sha256:tests' } as never;
const bundle = { compiler: 'opa', digest: 'sha256:new' } as never;
const built = { ok: true, bundle, tests, compileMs: 5 } as BuildOutcome;
const noCompile = { ok: false, stage: 'compile', reason: 'CompileFailed', message: 'rego_parse_error' } as BuildOutcome;
const testsFail = { ok: false, stage: 'tests', reason: 'TestsFailed', message: '1 test failed', tests, bundle } as BuildOutcome;

const byType = (s: ReturnType<typeof bundleStatus>) => Object.fromEntries((s.conditions ?? []).map((c) => [c.type, [c.status, c.reason, c.message]]));

test('a good build: every condition True, the digest built is the one served', () => {
  const s = bundleStatus({ outcome: built, generation: 4, previous: {}, served: { digest: 'sha256:new', generation: 4 }, now });
  assert.deepEqual(byType(s), {
    Compiled: ['True', 'Compiled', 'compiled by opa'],
    TestsPassed: ['True', 'TestsPassed', '2 of 3 tests passed'],
    Ready: ['True', 'Published', 'serving sha256:new'],
  });
  assert.deepEqual({ ...s, conditions: undefined }, { observedGeneration: 4, digest: 'sha256:new', compiler: 'opa', testSummary: '2/3', servingDigest: 'sha256:new', conditions: undefined });
  assert.ok(s.conditions!.every((c) => c.observedGeneration === 4 && c.lastTransitionTime === '2026-02-03T04:05:06Z'));
});

test('a build that does not compile: tests Unknown, Ready False naming what still serves', () => {
  const s = bundleStatus({ outcome: noCompile, generation: 5, previous: {}, served: { digest: 'sha256:old', generation: 4 }, now });
  assert.deepEqual(byType(s), {
    Compiled: ['False', 'CompileFailed', 'rego_parse_error'],
    TestsPassed: ['Unknown', 'NotCompiled', 'tests run once the bundle compiles'],
    Ready: ['False', 'CompileFailed', 'generation 5 is not served; still serving sha256:old (generation 4)'],
  });
  assert.equal(s.digest, undefined);
  assert.equal(s.testSummary, undefined);
  assert.equal(s.servingDigest, 'sha256:old');
});

test('failing tests with nothing served: compiled, tests False, no serving digest', () => {
  const s = bundleStatus({ outcome: testsFail, generation: 1, previous: {}, served: undefined, now });
  assert.deepEqual(byType(s), {
    Compiled: ['True', 'Compiled', 'compiled by opa'],
    TestsPassed: ['False', 'TestsFailed', '1 test failed'],
    Ready: ['False', 'TestsFailed', 'generation 1 is not served; no bundle is served'],
  });
  assert.equal(s.digest, 'sha256:new');
  assert.equal(s.testSummary, '2/3');
  assert.equal('servingDigest' in s, false);
});

test('a condition keeps its transition time while its status holds; other conditions are kept', () => {
  const earlier = '2026-01-01T00:00:00Z';
  const previous = {
    conditions: [
      { type: 'Compiled', status: 'True', reason: 'Compiled', message: 'x', lastTransitionTime: earlier },
      { type: 'Ready', status: 'True', reason: 'Published', message: 'x', lastTransitionTime: earlier },
      { type: 'Other', status: 'True', reason: 'Mine', message: 'kept', lastTransitionTime: earlier },
    ],
  } as never;
  const s = bundleStatus({ outcome: testsFail, generation: 2, previous, served: undefined, now });
  const at = Object.fromEntries(s.conditions!.map((c) => [c.type, c.lastTransitionTime]));
  assert.deepEqual(at, { Compiled: earlier, Ready: '2026-02-03T04:05:06Z', Other: earlier, TestsPassed: '2026-02-03T04:05:06Z' });
});
