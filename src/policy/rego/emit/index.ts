/**
 * The back end of the Rego compiler: turns an IR plan (OPA's plan format)
 * into a wasm module in OPA's wasm ABI (1.2), loadable by
 * `@open-policy-agent/opa-wasm`. The module is the precompiled runtime
 * (build/runtime.wasm) plus one function per IR func and plan, `opa_eval`,
 * and the ABI's exports; unused runtime code is removed.
 */
import binaryen from 'binaryen';
import type { Policy } from '../ir.ts';
import { loadRuntime, runtimeBytes } from './runtime-module.ts';
import { StaticData } from './static-data.ts';
import { EmitContext, funcName } from './context.ts';
import { FunctionCompiler } from './function-compiler.ts';
import { addAbi } from './abi.ts';

export interface EmitOptions {
  /** The runtime module (defaults to build/runtime.wasm). */
  runtime?: Uint8Array;
  /**
   * Binaryen optimisation of the policy's own functions: 'light' (default:
   * branch and no-op clean-up), 'full' (binaryen -O2), or 'none'. The
   * runtime is optimised when it is built; measured on the demo policy,
   * 'full' adds ~0.5-1 s of emit time and no measurable evaluation speed.
   */
  optimize?: 'none' | 'light' | 'full';
  /** Validates the module with binaryen (the SDK's instantiation validates anyway). */
  validate?: boolean;
  /** Receives the time (ms) of each emit phase. */
  timings?: (phases: Record<string, number>) => void;
}

function optimizeFunctions(m: binaryen.Module, names: string[], level: 'none' | 'light' | 'full'): void {
  if (level === 'none') return;
  if (level === 'full') {
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(1);
    for (const name of names) m.optimizeFunction(name);
    return;
  }
  for (const name of names) m.runPassesOnFunction(name, ['remove-unused-brs', 'vacuum']);
}

/**
 * Rules (funcs of input and data only) are evaluated once per evaluation:
 * `func:<name>` looks the result up in the memo table (0: not yet, 1:
 * undefined, else the value) and calls `body:<name>` on a miss. WithStmt
 * gives its block a fresh table, as OPA's own wasm does.
 */
function addMemoized(ctx: EmitContext, name: string, slot: number): string {
  const m = ctx.module;
  const { i32 } = binaryen;
  const addr = m.i32.add(m.global.get('abi:memo', i32), m.i32.const(slot * 4));
  m.addFunction(
    funcName(name),
    binaryen.createType([i32, i32]),
    i32,
    [i32],
    m.block(null, [
      m.local.set(2, m.i32.load(0, 4, addr)),
      m.if(m.local.get(2, i32), m.return(m.select(m.i32.eq(m.local.get(2, i32), m.i32.const(1)), m.i32.const(0), m.local.get(2, i32)))),
      m.local.set(2, m.call(`body:${name}`, [m.local.get(0, i32), m.local.get(1, i32)], i32)),
      m.i32.store(0, 4, m.i32.add(m.global.get('abi:memo', i32), m.i32.const(slot * 4)), m.select(m.local.get(2, i32), m.local.get(2, i32), m.i32.const(1))),
      m.local.get(2, i32),
    ], i32),
  );
  return funcName(name);
}

export function emitWasm(policy: Policy, options: EmitOptions = {}): Uint8Array {
  const T: [string, number][] = [['start', performance.now()]];
  const rt = loadRuntime(options.runtime ?? runtimeBytes());
  const m = rt.module;
  try {
    T.push(['read', performance.now()]);
    const statics = new StaticData(rt.staticEnd);
    const ctx = new EmitContext(m, statics, policy, rt.functions);
    m.addGlobal('abi:memo', binaryen.i32, true, m.i32.const(0));
    const added: string[] = [];
    for (const f of policy.funcs?.funcs ?? []) {
      const fc = new FunctionCompiler(ctx, f.params, f.params.length > 2);
      const body = fc.compileBody(f.blocks);
      body.push(m.i32.const(0)); // no ReturnLocalStmt reached: undefined
      const params = binaryen.createType(f.params.map(() => binaryen.i32));
      const slot = ctx.memoSlot(f.name);
      const name = slot === undefined ? funcName(f.name) : `body:${f.name}`;
      m.addFunction(name, params, binaryen.i32, fc.vars, m.block(null, body, binaryen.i32));
      added.push(name);
      if (slot !== undefined) added.push(addMemoized(ctx, f.name, slot));
    }
    const plans = policy.plans.plans;
    plans.forEach((p, i) => {
      const fc = new FunctionCompiler(ctx, [0, 1], false);
      const body = fc.compileBody(p.blocks);
      const name = `plan:${i}`;
      m.addFunction(name, binaryen.createType([binaryen.i32, binaryen.i32]), binaryen.none, fc.vars, m.block(null, body));
      added.push(name);
    });
    added.push(...addAbi(ctx, rt, plans.map((p, i) => ({ name: p.name, fn: `plan:${i}` }))));
    T.push(['compile', performance.now()]);
    optimizeFunctions(m, added, options.optimize ?? 'light');
    T.push(['optimize', performance.now()]);
    m.runPasses(['remove-unused-module-elements']);
    T.push(['prune', performance.now()]);
    if (options.validate && !m.validate()) throw new Error('wasm emitter produced an invalid module');
    const out = m.emitBinary();
    T.push(['write', performance.now()]);
    options.timings?.(Object.fromEntries(T.slice(1).map(([n, t], i) => [n, t - T[i][1]])));
    return out;
  } finally {
    m.dispose();
  }
}
