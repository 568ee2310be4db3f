/**
 * A PolicyBundle's status from its latest build (pure): the conditions
 * `Compiled`, `TestsPassed` and `Ready` (a condition's transition time moves
 * only when its status does), the digest built, its tests, and the digest
 * served, which is the last good one when the latest build failed.
 */
import type { BundleTestReport } from '../../policy/bundle-tests.ts';
import { setCondition } from '../conditions.ts';
import type { Condition, PolicyBundleStatus } from '../resources.ts';
import type { BuildOutcome } from './build-bundle.ts';

export interface BundleStatusInput {
  outcome: BuildOutcome;
  /** The generation built. */
  generation: number | undefined;
  /** The status written last, else the object's: its conditions keep their transition times. */
  previous: PolicyBundleStatus;
  /** What sidecars are served now, and the generation it was built from; undefined when nothing is. */
  served: { digest: string; generation: number | undefined } | undefined;
  now: Date;
}

type NextCondition = Omit<Condition, 'lastTransitionTime'>;

function compiledCondition(o: BuildOutcome, gen: number | undefined): NextCondition {
  if (o.ok || o.stage === 'tests') return { type: 'Compiled', status: 'True', reason: 'Compiled', message: `compiled by ${o.bundle!.compiler}`, observedGeneration: gen };
  return { type: 'Compiled', status: 'False', reason: 'CompileFailed', message: o.message, observedGeneration: gen };
}

function testsCondition(o: BuildOutcome, gen: number | undefined): NextCondition {
  if (o.ok) return { type: 'TestsPassed', status: 'True', reason: 'TestsPassed', message: `${o.tests.passed} of ${o.tests.results.length} tests passed`, observedGeneration: gen };
  if (o.stage === 'tests') return { type: 'TestsPassed', status: 'False', reason: 'TestsFailed', message: o.message, observedGeneration: gen };
  return { type: 'TestsPassed', status: 'Unknown', reason: 'NotCompiled', message: 'tests run once the bundle compiles', observedGeneration: gen };
}

function readyCondition(o: BuildOutcome, gen: number | undefined, served: BundleStatusInput['served']): NextCondition {
  if (o.ok) return { type: 'Ready', status: 'True', reason: 'Published', message: `serving ${o.bundle.digest}`, observedGeneration: gen };
  const keeping = served ? `; still serving ${served.digest} (generation ${served.generation})` : '; no bundle is served';
  return { type: 'Ready', status: 'False', reason: o.reason, message: `generation ${gen} is not served${keeping}`, observedGeneration: gen };
}

/** The tests of a build that got as far as running them. */
function testReport(o: BuildOutcome): BundleTestReport | undefined {
  if (o.ok) return o.tests;
  return o.stage === 'tests' ? o.tests : undefined;
}

export function bundleStatus({ outcome: o, generation: gen, previous, served, now }: BundleStatusInput): PolicyBundleStatus {
  let conditions = setCondition(previous.conditions, compiledCondition(o, gen), now);
  conditions = setCondition(conditions, testsCondition(o, gen), now);
  conditions = setCondition(conditions, readyCondition(o, gen, served), now);
  const tests = testReport(o);
  return {
    observedGeneration: gen,
    ...(o.ok || o.bundle ? { digest: o.bundle!.digest, compiler: o.bundle!.compiler } : {}),
    ...(tests ? { testSummary: `${tests.passed}/${tests.results.length}` } : {}),
    ...(served ? { servingDigest: served.digest } : {}),
    conditions,
  };
}
