/**
 * A test-only PolicyEngine whose "policy" is a TypeScript function, for unit
 * tests of the gate's own logic (the real engine is exercised in test/e2e).
 */
import type { CompiledBundle, EvalResult, PolicyEngine, ToolEntry } from '../../src/policy/types.ts';

export type PolicyFn = (input: any) => unknown;

export function functionEngine(fn: PolicyFn | undefined, digest = 'sha256:' + 'ab'.repeat(32), tools: ToolEntry[] = []): PolicyEngine & { calls: unknown[] } {
  const bundle: CompiledBundle = {
    wasm: new Uint8Array(),
    data: {},
    entrypoints: ['portcullis/decision'],
    tools,
    tests: [],
    digest,
    compiler: 'test',
  };
  const calls: unknown[] = [];
  return {
    calls,
    evaluate(input: unknown, entrypoint?: string): EvalResult {
      calls.push(input);
      return { result: fn!(input), digest, entrypoint: entrypoint ?? 'portcullis/decision' };
    },
    async load(): Promise<void> {},
    current: () => (fn ? bundle : undefined),
  };
}
