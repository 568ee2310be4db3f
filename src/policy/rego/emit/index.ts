/**
 * The back end of the Rego compiler: turns an IR plan (OPA's plan format)
 * into a wasm module in OPA's wasm ABI (1.2), loadable by
 * `@open-policy-agent/opa-wasm`. The module is the precompiled runtime
 * (build/runtime.wasm, copied as is) plus one function per IR func and plan,
 * `opa_eval`, and the ABI's exports. See docs/adr/0001-rego-wasm-backend.md.
 */
import type { Policy } from '../ir.ts';
import { runtimeImage } from './runtime-module.ts';
import { StaticData } from './static-data.ts';
import { EmitContext, funcName } from './context.ts';
import { FunctionCompiler } from './function-compiler.ts';
import { buildAbi } from './abi.ts';
import { link, type NewFunction } from './wasm/link.ts';
import { w } from './wasm/builder.ts';
import type { RuntimeImage } from './wasm/runtime-image.ts';

export interface EmitOptions {
  /** The runtime (defaults to build/runtime.wasm, read once per process). */
  runtime?: RuntimeImage;
  /**
   * Accepted for compatibility and ignored: the runtime is optimised once
   * when it is built, and the policy's own code is a thin layer of calls into it.
   */
  optimize?: boolean;
  /** Receives the time (ms) of each emit phase. */
  timings?: (phases: Record<string, number>) => void;
}

/**
 * Rules (funcs of input and data only) are evaluated once per evaluation:
 * `func:<name>` looks the result up in the memo table (0: not yet, 1:
 * undefined, else the value) and calls `body:<name>` on a miss. WithStmt
 * gives its block a fresh table, as OPA's own wasm does.
 */
function memoized(name: string, slot: number): NewFunction {
  const cell = () => w.add(w.globalGet('abi:memo'), w.const(slot * 4));
  const v = () => w.localGet(2);
  return {
    name: funcName(name),
    params: 2,
    result: 'i32',
    vars: 1,
    body: w.block(null, [
      w.localSet(2, w.load(cell())),
      w.if(v(), w.return(w.select(w.eq(v(), w.const(1)), w.const(0), v()))),
      w.localSet(2, w.call(`body:${name}`, [w.localGet(0), w.localGet(1)], 'i32')),
      w.store(cell(), w.select(v(), v(), w.const(1))),
      v(),
    ], 'i32'),
  };
}

export function emitWasm(policy: Policy, options: EmitOptions = {}): Uint8Array {
  const t0 = performance.now();
  const image = options.runtime ?? runtimeImage();
  const statics = new StaticData(image.staticEnd);
  const ctx = new EmitContext(statics, policy, image);
  const functions: NewFunction[] = [];
  for (const f of policy.funcs?.funcs ?? []) {
    const fc = new FunctionCompiler(ctx, f.params, f.params.length > 2);
    const body = [ctx.step(), ...fc.compileBody(f.blocks)];
    body.push(w.const(0)); // no ReturnLocalStmt reached: undefined
    const slot = ctx.memoSlot(f.name);
    const name = slot === undefined ? funcName(f.name) : `body:${f.name}`;
    functions.push({ name, params: f.params.length, result: 'i32', vars: fc.vars, body: w.block(null, body, 'i32') });
    if (slot !== undefined) functions.push(memoized(f.name, slot));
  }
  const plans = policy.plans.plans;
  plans.forEach((p, i) => {
    const fc = new FunctionCompiler(ctx, [0, 1], false, true);
    const body = fc.compileBody(p.blocks);
    functions.push({ name: `plan:${i}`, params: 2, result: 'none', vars: fc.vars, body: w.block(null, body) });
  });
  const abi = buildAbi(ctx, plans.map((p, i) => ({ name: p.name, fn: `plan:${i}` })));
  const t1 = performance.now();
  const data = statics.segment();
  const wasm = link({
    image,
    functions: [...functions, ...abi.functions],
    globals: abi.globals,
    table: abi.table,
    exportFuncs: abi.exportFuncs,
    exportGlobals: abi.exportGlobals,
    start: abi.start,
    data: { offset: statics.base, bytes: data },
  });
  options.timings?.({ compile: t1 - t0, link: performance.now() - t1 });
  return wasm;
}
