import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildCache, buildBundle, sourceOf } from '../../../src/controller/bundles/build-bundle.ts';
import { PortcullisCompiler } from '../../../src/policy/compiler.ts';
import { policyDigest } from '../../../src/policy/digest.ts';
import type { BundleSource, CompiledBundle, PolicyCompiler } from '../../../src/policy/types.ts';
import { policyBundle } from '../../support/policy-bundles.ts';

const compiler = new PortcullisCompiler();

test('a bundle with Rego test rules runs them as well as its cases', async () => {
  const pb = policyBundle('t', 'ns', { regoExtra: '\ntest_get_allowed if {\n  decision.effect == "allow" with input as {"action": {"http": {"method": "GET"}}}\n}\n' });
  const o = await buildBundle(pb.spec, compiler);
  assert.ok(o.ok, JSON.stringify(o));
  assert.deepEqual(o.tests.results.map((r) => r.kind).sort(), ['case', 'case', 'rule']);
});

test('a prebuilt wasm module is served as is, with its own digest, after its cases pass', async () => {
  const built = await compiler.compile(sourceOf(policyBundle('t', 'ns').spec));
  const spec = { ...policyBundle('t', 'ns').spec, modules: undefined, wasm: Buffer.from(built.wasm).toString('base64'), data: { k: 1 } };
  const o = await buildBundle(spec, compiler);
  assert.ok(o.ok);
  assert.equal(o.bundle.compiler, 'prebuilt');
  assert.equal(o.bundle.digest, policyDigest(built.wasm, { k: 1 }));
  const bad = await buildBundle({ ...spec, tests: [{ name: 'wrong', input: { action: { http: { method: 'GET' } } }, want: { effect: 'deny' } }] }, compiler);
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.reason, 'TestsFailed');
});

test('the build cache reuses successes and forgets failures', async () => {
  let compiles = 0;
  let fail = true;
  const counting: PolicyCompiler = {
    name: 'counting',
    async compile(source: BundleSource): Promise<CompiledBundle> {
      compiles++;
      if (fail) throw new Error('transient');
      return compiler.compile(source);
    },
  };
  const cache = new BuildCache(counting);
  const spec = policyBundle('c', 'ns').spec;
  assert.equal((await cache.build(spec)).ok, false);
  await new Promise((r) => setImmediate(r));
  fail = false;
  assert.equal((await cache.build(spec)).ok, true);
  const after = compiles;
  assert.equal((await cache.build(structuredClone(spec))).ok, true);
  assert.equal(compiles, after, 'an equal spec is not compiled again');
});
