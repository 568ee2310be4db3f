// Differential fuzzing against the real OPA: random tool-call policies and
// inputs (test/support/fuzz/), compiled by Portcullis and evaluated by
// opa-wasm, against `opa eval` of the same module, data and input. A
// difference fails the test with a shrunk reproduction; keep it in
// opa-differential-regressions.test.ts with the fix.
//
//   PORTCULLIS_FUZZ_SEED     the run's seed (default 20261124)
//   PORTCULLIS_FUZZ_SECONDS  the time budget (default 60; `npm run fuzz:long` runs 1800)
//   PORTCULLIS_FUZZ_CASE     run only this case of the seed (a failure names it)
//   PORTCULLIS_FUZZ_JOBS     opa processes at once (default 1: the suite runs two test files at a time)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpaCliCompiler } from '../../src/policy/compiler.ts';
import { OpaEvaluator } from '../support/opa-eval.ts';
import { rng } from '../support/random.ts';
import { toolPath } from '../support/tools.ts';
import { policyData, toolCallInput } from '../support/fuzz/inputs.ts';
import { randomModule } from '../support/fuzz/policy.ts';
import { render } from '../support/fuzz/tree.ts';
import { SandboxedWasm } from '../support/fuzz/sandboxed-wasm.ts';
import { compileOurs, describeDifference, evaluate, evaluateOpa, judgeAnswer, shrink, type Opa, type Verdict } from '../support/fuzz/differential.ts';

const SEED = Number(process.env.PORTCULLIS_FUZZ_SEED ?? 20261124);
const SECONDS = Number(process.env.PORTCULLIS_FUZZ_SECONDS ?? 60);
const ONLY = process.env.PORTCULLIS_FUZZ_CASE === undefined ? undefined : Number(process.env.PORTCULLIS_FUZZ_CASE);
const JOBS = Number(process.env.PORTCULLIS_FUZZ_JOBS ?? 1);
const INPUTS_PER_MODULE = 4;
const SHRINK_SECONDS = 120;

interface Stats {
  modules: number;
  compiled: number;
  evaluations: number;
  values: number;
  failedBoth: number;
  refusedBoth: number;
  effects: Set<string>;
  /** Differences with `opa eval` where OPA, unoptimised or compiled to wasm, answers as Portcullis does. */
  opaEvaluatorsDiffer: string[];
}

/** Each case has a generator of its own, so that one case reproduces without the ones before it. */
function caseSeed(i: number): number {
  return (SEED + Math.imul(i, 0x9e3779b1)) >>> 0;
}

function count(stats: Stats, v: Verdict): void {
  stats.evaluations++;
  if (v.opaEvaluatorsDiffer) stats.opaEvaluatorsDiffer.push(v.opaEvaluatorsDiffer);
  if (v.opa.kind === 'compile-error') stats.refusedBoth++;
  else if (v.opa.kind === 'eval-error') stats.failedBoth++;
  else {
    stats.values++;
    const effect = (v.opa.value as { decision?: { effect?: unknown } } | undefined)?.decision?.effect;
    if (typeof effect === 'string') stats.effects.add(effect);
  }
}

test('Portcullis agrees with opa eval on random tool-call policies', { timeout: (SECONDS + SHRINK_SECONDS + 120) * 1000 }, async (t) => {
  const binary = toolPath('opa');
  const opa: Opa = { eval: new OpaEvaluator(binary, { concurrency: JOBS }), build: new OpaCliCompiler(binary), wasm: new SandboxedWasm() };
  t.after(() => opa.wasm.close());
  const stats: Stats = { modules: 0, compiled: 0, evaluations: 0, values: 0, failedBoth: 0, refusedBoth: 0, effects: new Set(), opaEvaluatorsDiffer: [] };
  const started = Date.now();
  const deadline = started + SECONDS * 1000;
  for (let i = ONLY ?? 0; ONLY === undefined ? Date.now() < deadline : i === ONLY; i++) {
    const r = rng(caseSeed(i));
    const module = randomModule(r);
    const data = policyData(r);
    const inputs = Array.from({ length: INPUTS_PER_MODULE }, () => toolCallInput(r));
    const source = render(module);
    const ours = await compileOurs(source, data);
    const byEval = await Promise.all(inputs.map((input) => evaluateOpa(opa.eval, source, data, input)));
    stats.modules++;
    if (!('refused' in ours)) stats.compiled++;
    for (const [j, input] of inputs.entries()) {
      const c = { module, data, input };
      const v = await judgeAnswer(opa, c, evaluate(ours, input), byEval[j]!);
      if (v.difference) {
        const s = await shrink(opa, c, Date.now() + SHRINK_SECONDS * 1000);
        const origin = `PORTCULLIS_FUZZ_SEED=${SEED} PORTCULLIS_FUZZ_CASE=${i} (input ${j}), shrunk in ${s.steps} steps`;
        assert.fail(describeDifference(s.shrunk, s.verdict, origin));
      }
      count(stats, v);
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.diagnostic(
    `${stats.modules} modules, ${stats.evaluations} evaluations in ${seconds} s (seed ${SEED}): ${stats.values} equal values, ` +
      `${stats.failedBoth} failed on both sides, ${stats.refusedBoth} refused by both; decisions seen: ${[...stats.effects].sort().join(', ')}`,
  );
  for (const d of new Set(stats.opaEvaluatorsDiffer)) t.diagnostic(`opa eval differs, but so does OPA itself: ${d}`);
  if (ONLY !== undefined) return;
  // The generator must keep producing policies worth comparing: mostly valid, mostly defined, every effect.
  assert.ok(stats.modules >= 20, `only ${stats.modules} modules in ${SECONDS} s`);
  assert.ok(stats.compiled >= 0.8 * stats.modules, `Portcullis compiled ${stats.compiled} of ${stats.modules} modules`);
  assert.ok(stats.values >= 0.6 * stats.evaluations, `${stats.values} of ${stats.evaluations} evaluations gave values`);
  assert.deepEqual([...stats.effects].sort(), ['allow', 'deny', 'escalate']);
});
