/**
 * The policy layer: compile time of the shipped bundle (`policies/`, or the
 * fixture in bench/fixtures/policy when there is none), per-evaluation
 * latency through the engine (median, p99), and memory. Baseline, measured in
 * the same run: the opa-wasm SDK on the echo module, which does no policy
 * work at all (its cost is the SDK's JSON in, call, JSON out).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { PortcullisCompiler, OpaCliCompiler } from '../../src/policy/compiler.ts';
import { findOpa } from '../../src/policy/opa-cli-compiler.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import type { BundleSource, CompiledBundle, PolicyCompiler } from '../../src/policy/types.ts';
import { echoPolicyWasm } from '../fixtures/echo-wasm.ts';
import { heapMiB, median, p99, sampleAsync, sampleSync } from '../measure.ts';
import type { BenchContext, BenchSuite, Metric, SuiteResult } from '../suite.ts';

const TRIVIAL: BundleSource = {
  modules: [{ path: 'trivial.rego', source: 'package portcullis\n\ndecision := {"effect": "allow"}\n' }],
  data: {},
  entrypoints: ['portcullis/decision'],
  tools: [],
  tests: [],
};

function policyDir(root: string): string {
  const shipped = join(root, 'policies');
  if (existsSync(shipped) && readdirSync(shipped).some((f) => f.endsWith('.rego'))) return shipped;
  return join(root, 'bench', 'fixtures', 'policy');
}

/** JS heap (KiB) one more loaded engine holds: the mean over several loads kept alive, so collector noise averages out. */
async function memoryPerLoad(bundle: CompiledBundle, input: unknown, loads = 10): Promise<number> {
  const kept: OpaWasmEngine[] = [];
  const before = heapMiB();
  for (let i = 0; i < loads; i++) {
    const engine = new OpaWasmEngine();
    await engine.load(bundle);
    engine.evaluate(input);
    kept.push(engine);
  }
  const after = heapMiB();
  return kept.length > 0 ? ((after - before) * 1024) / kept.length : 0;
}

async function compileMs(compiler: PolicyCompiler, source: BundleSource, runs: number): Promise<number> {
  return median(await sampleAsync(() => compiler.compile(source), runs)) / 1000;
}

export const suite: BenchSuite = {
  name: 'policy',
  description: 'compile time, per-evaluation latency and memory of the shipped bundle through opa-wasm',
  async run(ctx: BenchContext): Promise<SuiteResult> {
    const dir = policyDir(ctx.root);
    const source = await readBundleDir(dir);
    const inputs = source.tests.map((t) => t.input);
    if (inputs.length === 0) inputs.push({ action: { type: 'http', http: { method: 'GET', path: '/' } } });
    const iterations = ctx.quick ? 5_000 : 50_000;
    const compileRuns = ctx.quick ? 2 : 5;
    const metrics: Metric[] = [];

    ctx.log(`policy: compiling ${dir} (${source.modules.length} modules)`);
    const portcullis = new PortcullisCompiler();
    metrics.push({ name: 'compile trivial policy (portcullis)', value: await compileMs(portcullis, TRIVIAL, compileRuns), unit: 'ms' });
    metrics.push({ name: 'compile shipped bundle (portcullis)', value: await compileMs(portcullis, source, compileRuns), unit: 'ms', baseline: 'compile trivial policy (portcullis)' });
    const opa = await findOpa(process.env);
    if (opa) {
      metrics.push({ name: 'compile shipped bundle (opa build)', value: await compileMs(new OpaCliCompiler(opa), source, compileRuns), unit: 'ms', baseline: 'compile trivial policy (portcullis)' });
    }
    const bundle = await portcullis.compile(source);

    ctx.log(`policy: ${iterations} evaluations per measurement over ${inputs.length} inputs`);
    const echoWasm = echoPolicyWasm();
    const sdkEcho = await loadPolicy(echoWasm);
    const sdk = sampleSync((i) => sdkEcho.evaluate(inputs[i % inputs.length], 0), iterations);
    metrics.push({ name: 'eval median: SDK on echo module', value: median(sdk), unit: 'µs' });
    metrics.push({ name: 'eval p99: SDK on echo module', value: p99(sdk), unit: 'µs' });

    const echoBundle = { ...bundle, wasm: echoWasm, entrypoints: ['echo/input'], data: {} };
    const echoEngine = new OpaWasmEngine();
    await echoEngine.load(echoBundle);
    const overhead = sampleSync((i) => echoEngine.evaluate(inputs[i % inputs.length]), iterations);
    metrics.push({ name: 'eval median: engine on echo module', value: median(overhead), unit: 'µs', baseline: 'eval median: SDK on echo module' });

    await memoryPerLoad(echoBundle, inputs[0], 3); // warm-up: first-use costs of the code paths are not memory per engine
    const echoHeap = await memoryPerLoad(echoBundle, inputs[0]);
    const engineHeap = await memoryPerLoad(bundle, inputs[0]);
    const engine = new OpaWasmEngine();
    await engine.load(bundle);
    const shipped = sampleSync((i) => engine.evaluate(inputs[i % inputs.length]), iterations);
    metrics.push({ name: 'eval median: shipped bundle', value: median(shipped), unit: 'µs', baseline: 'eval median: SDK on echo module' });
    metrics.push({ name: 'eval p99: shipped bundle', value: p99(shipped), unit: 'µs', baseline: 'eval p99: SDK on echo module' });

    const shippedSdk = await loadPolicy(bundle.wasm);
    shippedSdk.setData(bundle.data);
    for (let i = 0; i < 1000; i++) shippedSdk.evaluate(inputs[i % inputs.length]);
    metrics.push({ name: 'JS heap per loaded engine: echo module', value: echoHeap, unit: 'KiB' });
    metrics.push({ name: 'JS heap per loaded engine: shipped bundle', value: engineHeap, unit: 'KiB', baseline: 'JS heap per loaded engine: echo module' });
    metrics.push({ name: 'wasm memory: echo module', value: sdkEcho.mem.buffer.byteLength / (1024 * 1024), unit: 'MiB' });
    metrics.push({ name: 'wasm memory: shipped bundle', value: shippedSdk.mem.buffer.byteLength / (1024 * 1024), unit: 'MiB', baseline: 'wasm memory: echo module' });
    metrics.push({ name: 'wasm module size: echo module', value: echoWasm.byteLength / 1024, unit: 'KiB' });
    metrics.push({ name: 'wasm module size: shipped bundle', value: bundle.wasm.byteLength / 1024, unit: 'KiB', baseline: 'wasm module size: echo module' });

    return {
      metrics,
      notes: [
        `bundle: ${dir} (${source.modules.length} modules, digest ${bundle.digest.slice(0, 19)}…), ${inputs.length} inputs from its test cases`,
        'JS heap per loaded engine: after a full GC, mean of 10 engines kept alive; the wasm linear memory is the separate "wasm memory" figure',
        'eval figures are per call, one call timed at a time; target for the shipped bundle: median ≤ 10 µs',
      ],
    };
  },
};
