/**
 * From a PolicyBundle's spec to a bundle that may be served: compile, then run
 * the bundle's own tests. The reconciler and the validating webhook both use
 * this, so `kubectl apply` is refused for exactly the reasons that would keep
 * a bundle from rolling out.
 */
import { performance } from 'node:perf_hooks';
import { isPortcullisError } from '../../errors.ts';
import { policyDigest } from '../../policy/digest.ts';
import { findTestRules, runBundleTests, runTestCases, type BundleTestReport } from '../../policy/bundle-tests.ts';
import { parseRego } from '../../policy/compiler.ts';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../evidence/canonical.ts';
import type { BundleSource, CompiledBundle, PolicyCompiler } from '../../policy/types.ts';
import type { PolicyBundleSpec } from '../resources.ts';

export const DEFAULT_ENTRYPOINT = 'portcullis/decision';

export type BuildOutcome =
  | { ok: true; bundle: CompiledBundle; tests: BundleTestReport; compileMs: number }
  | { ok: false; stage: 'compile' | 'tests'; reason: 'CompileFailed' | 'TestsFailed'; message: string; code?: string; tests?: BundleTestReport; bundle?: CompiledBundle };

export function sourceOf(spec: PolicyBundleSpec): BundleSource {
  return {
    modules: (spec.modules ?? []).map((m) => ({ path: m.path, source: m.source })),
    data: spec.data ?? {},
    entrypoints: [spec.entrypoint || DEFAULT_ENTRYPOINT],
    tools: (spec.tools ?? []).map((t) => ({ ...t })),
    tests: (spec.tests ?? []).map((t) => ({ name: t.name, input: t.input, want: { ...t.want } })),
  };
}

function errorText(e: unknown): { message: string; code?: string } {
  if (isPortcullisError(e)) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? e.message : String(e) };
}

/** Names the failing tests and why, shortest first, within what a condition message should hold. */
export function describeFailures(report: BundleTestReport): string {
  const failed = report.results.filter((r) => !r.passed);
  const lines = failed.slice(0, 10).map((r) => `${r.name}: ${r.reason ?? 'failed'}`);
  if (failed.length > 10) lines.push(`… and ${failed.length - 10} more`);
  return `${report.failed} of ${report.results.length} tests failed: ${lines.join('; ')}`;
}

export async function buildBundle(spec: PolicyBundleSpec, compiler: PolicyCompiler): Promise<BuildOutcome> {
  const source = sourceOf(spec);
  const started = performance.now();
  let bundle: CompiledBundle;
  try {
    if (spec.wasm) {
      const wasm = new Uint8Array(Buffer.from(spec.wasm, 'base64'));
      bundle = { wasm, data: source.data, entrypoints: source.entrypoints, tools: source.tools, tests: source.tests, digest: policyDigest(wasm, source.data), compiler: 'prebuilt' };
    } else {
      bundle = await compiler.compile(source);
    }
  } catch (e) {
    return { ok: false, stage: 'compile', reason: 'CompileFailed', ...errorText(e) };
  }
  const compileMs = performance.now() - started;
  // Carried in the archive's metadata: sidecars whose pod sets no mode run it.
  if (spec.mode) bundle = { ...bundle, mode: spec.mode };
  let tests: BundleTestReport;
  try {
    // Rego test_ rules need a second build with them as entrypoints; without
    // any, the cases run on the bundle itself (one compile instead of two).
    // A prebuilt module can only run its cases.
    const hasTestRules = !spec.wasm && findTestRules(await Promise.all(source.modules.map((m) => parseRego(m.source, m.path)))).length > 0;
    tests = hasTestRules ? await runBundleTests(source, compiler) : await runTestCases(bundle);
  } catch (e) {
    return { ok: false, stage: 'tests', reason: 'TestsFailed', bundle, ...errorText(e) };
  }
  if (tests.failed > 0) return { ok: false, stage: 'tests', reason: 'TestsFailed', message: describeFailures(tests), tests, bundle };
  return { ok: true, bundle, tests, compileMs };
}

/**
 * Recent builds by the canonical hash of the spec. The validating webhook
 * builds a bundle just before the API server stores it; the reconciler on the
 * same replica then reuses that build instead of compiling it again.
 */
export class BuildCache {
  private readonly entries = new Map<string, Promise<BuildOutcome>>();

  constructor(
    private readonly compiler: PolicyCompiler,
    private readonly size = 16,
  ) {}

  build(spec: PolicyBundleSpec): Promise<BuildOutcome> {
    const key = createHash('sha256').update(canonicalJson(spec)).digest('hex');
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used goes last.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const p = buildBundle(spec, this.compiler);
    this.entries.set(key, p);
    // Only successes are kept: a failure may be transient (an `opa` process that died).
    void p.then((o) => {
      if (!o.ok && this.entries.get(key) === p) this.entries.delete(key);
    });
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
    return p;
  }
}
