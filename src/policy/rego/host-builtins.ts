/**
 * Builtins a compiled policy reaches through the SDK's `opa_builtinN`
 * imports that neither the SDK nor the wasm runtime can implement, because
 * they need the host: today `time.now_ns`. OPA's own wasm modules call it
 * the same way, so the same host builtins serve modules built by
 * `opa build -t wasm` and by Portcullis's compiler. Pass `builtins` as the
 * SDK's custom builtins: `loadPolicy(wasm, undefined, host.builtins)`.
 *
 * OPA gives every `time.now_ns()` of one evaluation the same value. The SDK
 * has no evaluation hook, so the host fixes the instant: call
 * `beginEvaluation()` before each `evaluate` (optionally with the instant
 * the decision is about, e.g. the request's `context.time`, which also
 * makes a replayed decision see the same clock). Without it, every call
 * reads the clock.
 */
export interface HostBuiltins {
  readonly builtins: Record<string, (...args: unknown[]) => unknown>;
  /** Fixes `time.now_ns` for the evaluation about to run (default: the clock now). */
  beginEvaluation(nowNs?: bigint): void;
}

export type ClockNs = () => bigint;

/** Wall-clock nanoseconds since the Unix epoch (millisecond resolution). */
export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function createHostBuiltins(clock: ClockNs = wallClockNs): HostBuiltins {
  let fixed: bigint | undefined;
  const encoder = new TextEncoder();
  return {
    builtins: {
      // An ArrayBuffer is taken by the SDK as JSON text: it keeps all 19 digits exact.
      'time.now_ns': () => encoder.encode((fixed ?? clock()).toString()).buffer,
    },
    beginEvaluation(nowNs?: bigint) {
      fixed = nowNs ?? clock();
    },
  };
}
