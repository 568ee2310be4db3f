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
  /** Binaryen optimisation of the policy's functions (default true). */
  optimize?: boolean;
}

export function emitWasm(policy: Policy, options: EmitOptions = {}): Uint8Array {
  const rt = loadRuntime(options.runtime ?? runtimeBytes());
  const m = rt.module;
  try {
    const statics = new StaticData(rt.staticEnd);
    const ctx = new EmitContext(m, statics, policy, rt.functions);
    const added: string[] = [];
    for (const f of policy.funcs?.funcs ?? []) {
      const fc = new FunctionCompiler(ctx, f.params, f.params.length > 2);
      const body = fc.compileBody(f.blocks);
      body.push(m.i32.const(0)); // no ReturnLocalStmt reached: undefined
      const params = binaryen.createType(f.params.map(() => binaryen.i32));
      m.addFunction(funcName(f.name), params, binaryen.i32, fc.vars, m.block(null, body, binaryen.i32));
      added.push(funcName(f.name));
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
    if (options.optimize !== false) {
      binaryen.setOptimizeLevel(2);
      binaryen.setShrinkLevel(1);
      for (const name of added) m.optimizeFunction(name);
    }
    m.runPasses(['remove-unused-module-elements']);
    if (!m.validate()) throw new Error('wasm emitter produced an invalid module');
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}
