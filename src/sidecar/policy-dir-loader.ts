/**
 * Local mode's bundle source: compiles a policy directory, runs the bundle's
 * test cases, and loads it into the engine only when both succeed. On file
 * changes it does it again; a bundle that fails keeps the last good one
 * loaded, and the reason is reported.
 */
import { watch, type FSWatcher } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { CompiledBundle, PolicyCompiler, PolicyEngine } from '../policy/types.ts';
import { readBundleDir } from '../policy/bundle-dir.ts';
import { runTestCases } from '../policy/bundle-tests.ts';
import { ErrorCodes, PortcullisError, isPortcullisError } from '../errors.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import { setBundleInfo } from '../telemetry/metrics.ts';

export type LoadResult = { ok: true; bundle: CompiledBundle; ms: number } | { ok: false; error: PortcullisError };

export interface PolicyDirLoaderOptions {
  dir: string;
  bundleName: string;
  engine: PolicyEngine;
  compiler: () => Promise<PolicyCompiler>;
  metrics?: PortcullisMetrics | undefined;
  /** Called after every attempt: print or log it. */
  onResult?: (r: LoadResult) => void;
  debounceMs?: number;
}

export class PolicyDirLoader {
  readonly #o: PolicyDirLoaderOptions;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<LoadResult> | undefined;
  #again = false;
  #closed = false;

  constructor(options: PolicyDirLoaderOptions) {
    this.#o = options;
  }

  /** Compiles, tests, and loads; never throws (the result says what happened). */
  async load(): Promise<LoadResult> {
    if (this.#running) {
      // A change arrived mid-compile: one more run once this one ends.
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#attempt();
    try {
      return await this.#running;
    } finally {
      this.#running = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.load();
      }
    }
  }

  async #attempt(): Promise<LoadResult> {
    const o = this.#o;
    const start = performance.now();
    let result: LoadResult;
    try {
      const bundle = await this.#build(start);
      await o.engine.load(bundle);
      if (o.metrics) setBundleInfo(o.metrics, o.bundleName, bundle.digest, bundle.compiler);
      o.metrics?.bundleReloads.inc({ bundle: o.bundleName, result: 'success' });
      result = { ok: true, bundle, ms: performance.now() - start };
    } catch (e) {
      o.metrics?.bundleReloads.inc({ bundle: o.bundleName, result: 'failure' });
      result = { ok: false, error: asBundleError(e) };
    }
    o.onResult?.(result);
    return result;
  }

  /** Compiles the directory and runs the bundle's test cases; throws BUNDLE_TESTS_FAILED when one fails. */
  async #build(start: number): Promise<CompiledBundle> {
    const o = this.#o;
    const compiler = await o.compiler();
    const source = await readBundleDir(o.dir);
    const bundle = await compiler.compile(source);
    o.metrics?.bundleCompileSeconds.observe({ compiler: compiler.name }, (performance.now() - start) / 1000);
    const report = await runTestCases(bundle);
    if (report.failed > 0) {
      const failures = report.results.filter((r) => !r.passed).map((r) => `"${r.name}": ${r.reason}`);
      throw new PortcullisError(ErrorCodes.BUNDLE_TESTS_FAILED, `${report.failed} of ${report.results.length} bundle tests failed: ${failures.join('; ')}`);
    }
    return bundle;
  }

  /** Reloads on every change under the directory (debounced). */
  watch(): void {
    if (this.#watcher) return;
    this.#watcher = watch(this.#o.dir, { recursive: true }, (_event, file) => {
      if (file && !/\.(rego|ya?ml|json)$/.test(String(file))) return;
      clearTimeout(this.#timer);
      if (!this.#closed) this.#timer = setTimeout(() => void this.load(), this.#o.debounceMs ?? 150);
    });
  }

  /** Stops watching; resolves once a load in progress has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#running?.catch(() => undefined);
  }
}

/** A failure as the result reports it: a PortcullisError as it is, anything else as BUNDLE_INVALID. */
function asBundleError(e: unknown): PortcullisError {
  if (isPortcullisError(e)) return e;
  return new PortcullisError(ErrorCodes.BUNDLE_INVALID, `the bundle could not be built: ${(e as Error)?.message ?? String(e)}`, undefined, { cause: e });
}
