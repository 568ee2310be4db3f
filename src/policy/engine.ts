/**
 * The policy engine: evaluates a compiled bundle's wasm with the OPA wasm SDK.
 *
 * Swapping is atomic: `load` builds the new instance completely (instantiate,
 * load data, check entrypoints) before it replaces one reference, and every
 * evaluation reads that reference exactly once. Evaluation is synchronous, so
 * an evaluation that started on the old instance finishes on it; a bundle that
 * fails to load never replaces the current one.
 */
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { createHostBuiltins, wallClockNs, type ClockNs, type HostBuiltins } from './rego/host-builtins.ts';
import type { CompiledBundle, EvalResult, PolicyEngine, PolicyView } from './types.ts';

export interface OpaWasmEngineOptions {
  /** The clock `time.now_ns` reads when the input carries no `context.time` (tests inject one). */
  clock?: ClockNs;
  /**
   * Steps (loop iterations and function calls) one evaluation may take
   * before it stops with POLICY_TIMEOUT; 1 … 2^31−1. Unset: the module's
   * own default (10 million). Modules built by `opa build` have no budget.
   */
  maxSteps?: number;
  /**
   * Whether a builtin's error (`eval_type_error`, `eval_builtin_error`) ends
   * the evaluation with POLICY_EVAL (true, the default) or makes that call
   * undefined (false), as OPA's default, non-strict evaluation does. Strict
   * fails closed: with `false`, a failing builtin inside `deny if { … }` or
   * under `not` silently turns the rule off.
   */
  strictBuiltinErrors?: boolean;
}

/** The module's setter for its step budget (Portcullis-emitted modules only). */
const MAX_STEPS_SET = 'portcullis_max_steps_set';
const MAX_STEPS_LIMIT = 2 ** 31 - 1;
const STRICT_BUILTIN_ERRORS_SET = 'portcullis_strict_builtin_errors_set';

interface ModuleSettings {
  maxSteps: number | undefined;
  strictBuiltinErrors: boolean;
}

interface Instance {
  readonly bundle: CompiledBundle;
  readonly policy: LoadedPolicy;
  /** Entrypoint name → the module's entrypoint id. */
  readonly ids: ReadonlyMap<string, number>;
  /** ABI ≥ 1.2: evaluate through `opa_eval` directly (see evaluateFast). */
  readonly fast: boolean;
  /** Set when the module calls `time.now_ns`: its instant is fixed before each evaluation. */
  readonly clockUser: HostBuiltins | undefined;
}

export class OpaWasmEngine implements PolicyEngine {
  #instance: Instance | undefined;
  /** Sequence numbers of loads: a load that started earlier never overwrites one that started later. */
  #started = 0;
  #installed = 0;
  readonly #clock: ClockNs;
  readonly #settings: ModuleSettings;

  constructor(options: OpaWasmEngineOptions = {}) {
    this.#clock = options.clock ?? wallClockNs;
    const max = options.maxSteps;
    if (max !== undefined && !(Number.isInteger(max) && max >= 1 && max <= MAX_STEPS_LIMIT)) {
      throw new PortcullisError(ErrorCodes.CONFIG, `maxSteps must be an integer from 1 to ${MAX_STEPS_LIMIT}, got ${max}`);
    }
    this.#settings = { maxSteps: max, strictBuiltinErrors: options.strictBuiltinErrors ?? true };
  }

  evaluate(input: unknown, entrypoint?: string, inputJson?: string): EvalResult {
    return evaluateOn(this.#instance, { input, inputJson }, entrypoint);
  }

  pin(): PolicyView {
    const instance = this.#instance;
    return { evaluate: (input, entrypoint, inputJson) => evaluateOn(instance, { input, inputJson }, entrypoint), current: () => instance?.bundle };
  }

  async load(bundle: CompiledBundle): Promise<void> {
    const sequence = ++this.#started;
    const instance = await instantiate(bundle, this.#clock, this.#settings);
    // A newer load finished first: this (older) bundle must not replace it.
    if (sequence < this.#installed) return;
    this.#installed = sequence;
    this.#instance = instance;
  }

  current(): CompiledBundle | undefined {
    return this.#instance?.bundle;
  }
}

/** An input, and its JSON text when the caller already made it. */
interface GivenInput {
  input: unknown;
  inputJson: string | undefined;
}

/** One evaluation on one loaded module (the engine's current one, or one a decision pinned). */
function evaluateOn(instance: Instance | undefined, given: GivenInput, entrypoint?: string): EvalResult {
  if (!instance) {
    throw new PortcullisError(ErrorCodes.POLICY_NO_BUNDLE, 'no policy bundle is loaded yet: load a compiled bundle before evaluating');
  }
  const name = entrypoint ?? instance.bundle.entrypoints[0]!;
  const id = instance.ids.get(name);
  if (id === undefined) {
    throw new PortcullisError(
      ErrorCodes.POLICY_EVAL,
      `entrypoint "${name}" is not in the loaded bundle; it has: ${[...instance.ids.keys()].join(', ')}`,
      { entrypoint: name, digest: instance.bundle.digest },
    );
  }
  let resultSet: unknown;
  try {
    const { input, inputJson } = given;
    instance.clockUser?.beginEvaluation(instantOf(input));
    resultSet = instance.fast ? evaluateFast(instance.policy, input, id, inputJson) : instance.policy.evaluate(sdkInput(input), id);
  } catch (e) {
    throw evaluationError(e, name, instance.bundle.digest);
  }
  return { result: firstResult(resultSet), digest: instance.bundle.digest, entrypoint: name };
}

/** The bundle's module instantiated with its data; a module that cannot be is an invalid bundle. */
async function loadModule(bundle: CompiledBundle, host: HostBuiltins): Promise<LoadedPolicy> {
  try {
    const policy = await loadPolicy(bundle.wasm, undefined, host.builtins);
    policy.setData(bundle.data ?? {});
    return policy;
  } catch (e) {
    throw new PortcullisError(
      ErrorCodes.BUNDLE_INVALID,
      `the bundle's wasm module could not be loaded: ${messageOf(e)}`,
      { digest: bundle.digest },
      { cause: e },
    );
  }
}

/** Entrypoint name → id: every declared one must be exported; the others the module has stay reachable by name (e.g. test rules). */
function entrypointIds(bundle: CompiledBundle, exported: Record<string, number>): Map<string, number> {
  const ids = new Map<string, number>();
  for (const name of bundle.entrypoints) {
    const id = exported[name];
    if (typeof id !== 'number') {
      throw new PortcullisError(
        ErrorCodes.BUNDLE_INVALID,
        `entrypoint "${name}" is not exported by the wasm module (it exports: ${Object.keys(exported).join(', ') || 'none'})`,
        { digest: bundle.digest, entrypoint: name },
      );
    }
    ids.set(name, id);
  }
  for (const [name, id] of Object.entries(exported)) if (!ids.has(name)) ids.set(name, id);
  return ids;
}

async function instantiate(bundle: CompiledBundle, clock: ClockNs, settings: ModuleSettings): Promise<Instance> {
  if (bundle.entrypoints.length === 0) {
    throw new PortcullisError(ErrorCodes.BUNDLE_INVALID, 'the bundle declares no entrypoint', { digest: bundle.digest });
  }
  // Each instance has its own host builtins, so a swap never shares a fixed instant.
  const host = createHostBuiltins(clock);
  const policy = await loadModule(bundle, host);
  const ids = entrypointIds(bundle, (policy.entrypoints ?? {}) as Record<string, number>);
  const exports = (policy.wasmInstance as unknown as WasmInstance).exports;
  applySettings(exports, settings);
  const fast = Number(policy.minorVersion) >= 2 && typeof exports?.opa_eval === 'function';
  const instance: Instance = { bundle, policy, ids, fast, clockUser: importsBuiltin(policy, 'time.now_ns') ? host : undefined };
  warmUp(instance);
  return instance;
}

/**
 * Inputs shaped like the calls the gate decides (an HTTP call, an MCP tool
 * call, a tunnel), at a fixed instant so warm-up never reads the clock. An
 * empty input would stop at the first rule and leave most of a policy's
 * functions uncompiled.
 */
const WARM_UP_INPUTS: readonly object[] = Object.freeze(
  [
    { type: 'http', tool: 'warm-up', http: { method: 'POST', scheme: 'https', host: 'warm-up.invalid', port: 443, path: '/v1/items', rawPath: '/v1/items', query: { q: ['1'] }, headers: { 'content-type': 'application/json' }, body: { amount: 1, path: '/tmp/x' } } },
    { type: 'mcp', tool: 'warm-up', mcp: { server: 'warm-up', method: 'tools/call', name: 'warm-up', arguments: { path: '/tmp/x', text: 'x' }, id: 1 } },
    { type: 'connect', tool: 'warm-up.invalid', http: { method: 'CONNECT', scheme: 'https', host: 'warm-up.invalid', port: 443, path: '', rawPath: '', query: {}, headers: {} } },
  ].map((action) =>
    Object.freeze({
      action,
      agent: { namespace: 'warm-up', pod: 'warm-up', serviceAccount: 'warm-up', labels: {}, annotations: {} },
      context: { time: '1970-01-01T00:00:00Z', mode: 'enforce', traceId: '0'.repeat(32), approval: null },
    }),
  ),
);

/**
 * V8 compiles a wasm module's functions lazily, on their first call. On a
 * busy machine that made the first real decision after every load take ten
 * times as long as the next. Throwaway evaluations of call-shaped inputs per
 * declared entrypoint move that cost to load time, before the swap; their
 * results and errors are of no interest.
 */
function warmUp(instance: Instance): void {
  for (const name of instance.bundle.entrypoints) {
    const id = instance.ids.get(name)!;
    for (const input of WARM_UP_INPUTS) warmUpCall(instance, id, input);
  }
}

function warmUpCall(instance: Instance, id: number, input: object): void {
  try {
    instance.clockUser?.beginEvaluation(instantOf(input));
    if (instance.fast) evaluateFast(instance.policy, input, id);
    else instance.policy.evaluate(sdkInput(input), id);
  } catch {
    // A policy may legitimately fail on an input it was not written for.
  }
}

/** The engine's settings, through the setters Portcullis-emitted modules export (others have none). */
function applySettings(exports: Record<string, unknown>, settings: ModuleSettings): void {
  const setMaxSteps = exports[MAX_STEPS_SET];
  if (settings.maxSteps !== undefined && typeof setMaxSteps === 'function') (setMaxSteps as (n: number) => void)(settings.maxSteps);
  const setStrict = exports[STRICT_BUILTIN_ERRORS_SET];
  if (typeof setStrict === 'function') (setStrict as (flag: number) => void)(settings.strictBuiltinErrors ? 1 : 0);
}

/** Whether the module calls `name` through the SDK (its `builtins()` export lists it). */
function importsBuiltin(policy: LoadedPolicy, name: string): boolean {
  const exports = (policy.wasmInstance as unknown as WasmInstance).exports;
  const builtins = exports.builtins as (() => number) | undefined;
  const dump = exports.opa_json_dump as ((addr: number) => number) | undefined;
  // Without the exports to ask, assume it does: fixing the instant costs little.
  if (!builtins || !dump) return true;
  const bytes = new Uint8Array(policy.mem.buffer);
  const address = dump(builtins());
  const end = bytes.indexOf(0, address);
  const listed = JSON.parse(decoder.decode(bytes.subarray(address, end))) as Record<string, number>;
  return Object.hasOwn(listed, name);
}

/**
 * The instant a decision is about: the input's `context.time` (RFC 3339) when
 * it has one, so that replaying a recorded input sees the same `time.now_ns`;
 * otherwise undefined (the clock).
 */
export function instantOf(input: unknown): bigint | undefined {
  const time = (input as { context?: { time?: unknown } } | null | undefined)?.context?.time;
  if (typeof time !== 'string') return undefined;
  const ms = Date.parse(time);
  if (!Number.isFinite(ms)) return undefined;
  // Date keeps milliseconds; the digits of the fraction beyond them are added back.
  const fraction = /\.(\d+)/.exec(time)?.[1] ?? '';
  const subMs = BigInt((fraction.slice(3, 9) || '0').padEnd(6, '0'));
  return BigInt(Math.floor(ms)) * 1_000_000n + subMs;
}

const encoder = new TextEncoder();

/**
 * The SDK sends any falsy input (`false`, `0`, `""`, `null`) as "no input";
 * those go as JSON text in an ArrayBuffer, which the SDK passes through as is.
 */
function sdkInput(input: unknown): unknown {
  if (input === undefined || input) return input;
  return encoder.encode(JSON.stringify(input)).buffer;
}

const decoder = new TextDecoder();
const PAGE = 65536;

interface WasmInstance {
  exports: Record<string, unknown>;
}

/**
 * `opa_eval` as the OPA wasm ABI 1.2 exports it: seven numbers, fixed by the
 * ABI, written as one labelled tuple.
 */
type OpaEvalArgs = [reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heap: number, format: number];
type OpaEval = (...args: OpaEvalArgs) => number;

/**
 * The SDK's ABI 1.2 evaluation path without its per-call costs: the input's
 * JSON is encoded straight into wasm memory at the data heap pointer (no
 * intermediate buffer, no new TextEncoder per call) and the result's end is
 * found with a native byte search (no new TextDecoder, no byte-by-byte loop).
 * Same protocol as `LoadedPolicy.evaluate`: input at the saved data-heap
 * pointer, heap after it, result a NUL-terminated JSON result set.
 */
function evaluateFast(policy: LoadedPolicy, input: unknown, entrypoint: number, inputJson?: string): unknown {
  const memory = policy.mem;
  const start = policy.dataHeapPtr as number;
  let length = 0;
  const text = inputJson ?? (input === undefined ? undefined : (JSON.stringify(input) as string | undefined));
  if (text !== undefined) {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const needed = start + text.length * 3 - memory.buffer.byteLength;
    if (needed > 0) memory.grow(Math.ceil(needed / PAGE));
    length = encoder.encodeInto(text, new Uint8Array(memory.buffer, start)).written;
  }
  const opaEval = (policy.wasmInstance as unknown as WasmInstance).exports.opa_eval as OpaEval;
  const address = opaEval(0, entrypoint, policy.dataAddr, length === 0 ? 0 : start, length, start + length, 0);
  const bytes = new Uint8Array(memory.buffer);
  const end = bytes.indexOf(0, address);
  return JSON.parse(decoder.decode(bytes.subarray(address, end < 0 ? bytes.length : end)));
}

function firstResult(resultSet: unknown): unknown {
  if (!Array.isArray(resultSet) || resultSet.length === 0) return undefined;
  const first = resultSet[0] as { result?: unknown } | null;
  return first && typeof first === 'object' ? first.result : undefined;
}

const CONFLICT = /conflict|must not produce multiple outputs/i;
/** The emitted code's abort when an evaluation spends its step budget: a timeout, so the gate fails closed. */
const BUDGET_EXCEEDED = /^eval_budget_exceeded\b/;

function evaluationError(e: unknown, entrypoint: string, digest: string): PortcullisError {
  const message = messageOf(e);
  const code = BUDGET_EXCEEDED.test(message)
    ? ErrorCodes.POLICY_TIMEOUT
    : CONFLICT.test(message)
      ? ErrorCodes.POLICY_CONFLICT
      : ErrorCodes.POLICY_EVAL;
  return new PortcullisError(code, `evaluating "${entrypoint}" failed: ${message}`, { entrypoint, digest }, { cause: e });
}

/** The SDK throws strings (aborts), plain objects (missing builtins) and Errors. */
export function messageOf(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') {
    return (e as { message: string }).message;
  }
  return String(e);
}
