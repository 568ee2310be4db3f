// Compiled bundles around the hand-written echo module, for tests that need a
// loadable wasm policy without going through a compiler.
import { echoPolicyWasm, ECHO_ENTRYPOINTS } from '../../bench/fixtures/echo-wasm.ts';
import { policyDigest } from '../../src/policy/digest.ts';
import type { CompiledBundle } from '../../src/policy/types.ts';

let wasm: Uint8Array | undefined;

export function echoBundle(data: Record<string, unknown> = {}, entrypoints: string[] = [...ECHO_ENTRYPOINTS]): CompiledBundle {
  wasm ??= echoPolicyWasm();
  return { wasm, data, entrypoints, tools: [], tests: [], digest: policyDigest(wasm, data), compiler: 'test' };
}
