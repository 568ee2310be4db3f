/**
 * A controller replica is ready only when the PolicyBundles it listed at
 * start are built, and builds run two at a time: on a real kube-apiserver,
 * a replica started over six bundles answers /readyz 503 while its builds
 * are held, never runs more than two compilations at once, and becomes ready
 * — serving every bundle — once they finish. The compiler is the real one,
 * wrapped to hold and count calls.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import type { PolicyCompiler } from '../../src/policy/types.ts';

const BUNDLES = 6;
let h: Harness;
let held = false;
let release: () => void = () => {};
let running = 0;
let peak = 0;
let calls = 0;

/** The real compiler, held while `held` and counted. */
function gatedCompiler(): PolicyCompiler {
  const real = new PortcullisCompiler();
  return {
    name: real.name,
    async compile(source, options) {
      calls++;
      peak = Math.max(peak, ++running);
      try {
        if (held) await new Promise<void>((resolve) => (release = ((prev) => () => (prev(), resolve()))(release)));
        return await real.compile(source, options);
      } finally {
        running--;
      }
    },
  };
}

before(async () => {
  h = await startHarness({ compiler: gatedCompiler() });
  await h.namespace('agents');
  // Each different, so that no build is shared through the build cache.
  for (let i = 0; i < BUNDLES; i++) await h.apply(policyBundle(`b${i}`, 'agents', { regoExtra: `\n# bundle ${i}\n` }));
  await until(() => h.controllers[0]!.store.keys().length === BUNDLES, 'the first replica to serve every bundle', 60_000);
});

after(() => h?.close());

test('a replica is not ready until the bundles listed at start are built; builds run two at a time', async () => {
  held = true;
  peak = 0;
  calls = 0;
  const c = await h.startReplica('late');
  const readyz = async () => fetch(`${c.apiUrl}/readyz`);
  await until(() => running === 2, 'two builds waiting');
  const notReady = await readyz();
  assert.equal(notReady.status, 503);
  assert.match(((await notReady.json()) as any).reason, /building the 6 PolicyBundles listed at start/);
  assert.equal(running, 2, 'no third build started while two run');
  held = false;
  release();
  await until(async () => (await readyz()).status === 200, 'ready after the builds', 60_000);
  assert.equal(c.store.keys().length, BUNDLES, 'every bundle is served once ready');
  assert.ok(calls >= BUNDLES);
  assert.equal(peak, 2);
});
