/**
 * Runs a bundle's own tests, as `opa test` does: its test cases (this input
 * must produce this effect at the default entrypoint) and its Rego `test_`
 * rules (each becomes an extra entrypoint and passes when defined and true).
 * Used by `portcullis test`, dev-mode reloads and the controller: a bundle
 * whose tests fail is never rolled out.
 */
import { performance } from 'node:perf_hooks';
import { isPortcullisError } from '../errors.ts';
import { parseRego } from './compiler.ts';
import type { Module, Term } from './rego/ast.ts';
import { OpaWasmEngine } from './engine.ts';
import type { BundleSource, BundleTestCase, CompiledBundle, PolicyCompiler } from './types.ts';

export interface BundleTestResult {
  name: string;
  /** `case`: a test case of the manifest or tests/*.yaml; `rule`: a Rego test_ rule. */
  kind: 'case' | 'rule';
  passed: boolean;
  /** Why it failed. */
  reason?: string;
  durationMs: number;
}

export interface BundleTestReport {
  passed: number;
  failed: number;
  results: BundleTestResult[];
  /** Digest of the test build (it contains the test modules and entrypoints). */
  digest: string;
}

/** A Rego test rule: its name as `package.path.test_x` and its entrypoint `package/path/test_x`. */
export interface TestRule {
  name: string;
  entrypoint: string;
}

export function findTestRules(modules: Module[]): TestRule[] {
  const found = new Map<string, TestRule>();
  for (const module of modules) {
    const pkg = module.package.path.path.map(termText);
    if (pkg.some((s) => s === undefined)) continue;
    for (const rule of module.rules) {
      if (!rule.head.name.startsWith('test_') || rule.kind !== 'single' || rule.head.ref.path.length > 0) continue;
      const path = [...(pkg as string[]), rule.head.name];
      found.set(path.join('/'), { name: path.join('.'), entrypoint: path.join('/') });
    }
  }
  return [...found.values()];
}

function termText(t: Term): string | undefined {
  return t.type === 'string' ? t.value : t.type === 'var' ? t.name : undefined;
}

/**
 * Compiles the source with one extra entrypoint per test rule, then runs every
 * test case and test rule. A compile error is thrown (the caller reports it).
 */
export async function runBundleTests(source: BundleSource, compiler: PolicyCompiler): Promise<BundleTestReport> {
  const rules = findTestRules(source.modules.map((m) => parseRego(m.source, m.path)));
  const entrypoints = [...source.entrypoints, ...rules.map((r) => r.entrypoint).filter((e) => !source.entrypoints.includes(e))];
  const bundle = await compiler.compile({ ...source, entrypoints });
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  const results = [
    ...source.tests.map((tc) => timed(tc.name, 'case', () => checkCase(engine, bundle, tc))),
    ...rules.map((r) => timed(r.name, 'rule', () => checkRule(engine, r))),
  ];
  return summarise(results, bundle.digest);
}

/** Runs only the test cases against an already compiled bundle (its own engine, so nothing loaded is touched). */
export async function runTestCases(bundle: CompiledBundle): Promise<BundleTestReport> {
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  const results = bundle.tests.map((tc) => timed(tc.name, 'case', () => checkCase(engine, bundle, tc)));
  return summarise(results, bundle.digest);
}

function summarise(results: BundleTestResult[], digest: string): BundleTestReport {
  const passed = results.filter((r) => r.passed).length;
  return { passed, failed: results.length - passed, results, digest };
}

function timed(name: string, kind: BundleTestResult['kind'], check: () => string | undefined): BundleTestResult {
  const start = performance.now();
  let failure: string | undefined;
  try {
    failure = check();
  } catch (e) {
    failure = isPortcullisError(e) ? `${e.code}: ${e.message}` : `error: ${e instanceof Error ? e.message : String(e)}`;
  }
  const durationMs = performance.now() - start;
  return failure === undefined ? { name, kind, passed: true, durationMs } : { name, kind, passed: false, reason: failure, durationMs };
}

/** undefined when the case passes, else why not. */
function checkCase(engine: OpaWasmEngine, bundle: CompiledBundle, tc: BundleTestCase): string | undefined {
  const { result } = engine.evaluate(tc.input, bundle.entrypoints[0]);
  if (result === undefined) return `${bundle.entrypoints[0]} is undefined for this input; want effect "${tc.want.effect}"`;
  const decision = result as { effect?: unknown; reason?: unknown };
  if (typeof decision !== 'object' || decision === null) return `the decision is not an object: ${JSON.stringify(result)}`;
  if (decision.effect !== tc.want.effect) {
    return `effect is ${JSON.stringify(decision.effect)}, want "${tc.want.effect}"` + (decision.reason ? ` (reason: ${JSON.stringify(decision.reason)})` : '');
  }
  if (tc.want.reason !== undefined && decision.reason !== tc.want.reason) {
    return `reason is ${JSON.stringify(decision.reason)}, want ${JSON.stringify(tc.want.reason)}`;
  }
  return undefined;
}

function checkRule(engine: OpaWasmEngine, rule: TestRule): string | undefined {
  const { result } = engine.evaluate(undefined, rule.entrypoint);
  if (result === undefined) return 'undefined (a test passes when it is defined and true)';
  if (result !== true) return `result is ${JSON.stringify(result)}, want true`;
  return undefined;
}
