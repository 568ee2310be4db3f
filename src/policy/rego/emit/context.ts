/**
 * What the statement compiler needs from the module being built: the
 * policy's constants, runtime functions by export name, and calls to plan
 * funcs and builtins (runtime exports, or the SDK's JavaScript builtins
 * through the `opa_builtinN` imports).
 */
import binaryen from 'binaryen';
import type { Policy } from '../ir.ts';
import type { StaticData } from './static-data.ts';
import type { RuntimeFunction } from './runtime-module.ts';
import { BUILTINS, SDK_BUILTIN } from '../builtins.ts';
import { PortcullisError, ErrorCodes } from '../../../errors.ts';
import { compileError } from './function-compiler.ts';

const { i32 } = binaryen;

/** Language-core builtins the runtime implements beside the shared table. */
const CORE_BUILTINS: Record<string, { export: string; arity: number }> = {
  'internal.template_string': { export: 'builtin_internal_template_string', arity: 1 },
};

/** Internal wasm name of the function compiled from IR func `name`. */
export function funcName(name: string): string {
  return `func:${name}`;
}

export class EmitContext {
  /** SDK builtins the policy calls, by name → id (the `builtins` export). */
  readonly sdkBuiltins = new Map<string, number>();
  private readonly builtinImports = new Set<number>();
  private readonly funcArity = new Map<string, number>();
  /** Memo table slot of each rule (func of input and data only). */
  private readonly memoSlots = new Map<string, number>();

  constructor(
    readonly module: binaryen.Module,
    readonly statics: StaticData,
    private readonly policy: Policy,
    private readonly runtime: Map<string, RuntimeFunction>,
  ) {
    for (const f of policy.funcs?.funcs ?? []) {
      this.funcArity.set(f.name, f.params.length);
      if (f.params.length === 2) this.memoSlots.set(f.name, this.memoSlots.size);
    }
  }

  memoSlot(func: string): number | undefined {
    return this.memoSlots.get(func);
  }

  /** Bytes of one memo table. */
  get memoSize(): number {
    return Math.max(4, this.memoSlots.size * 4);
  }

  /** A fresh, empty memo table. */
  newMemo(): binaryen.ExpressionRef {
    return this.module.global.set('abi:memo', this.callRuntime('rt_alloc_zero', [this.module.i32.const(this.memoSize)]));
  }

  stringValue(index: number): string {
    const s = this.policy.static.strings[index];
    if (s === undefined) throw compileError(`string index ${index} is out of range`);
    return s.value;
  }

  stringAddr(index: number): number {
    return this.statics.string(this.stringValue(index));
  }

  /** Internal name of a runtime function. */
  fn(exportName: string): string {
    const f = this.runtime.get(exportName);
    if (!f) throw compileError(`the runtime has no function ${exportName} (rebuild it: npm run build:runtime)`);
    return f.internal;
  }

  callRuntime(exportName: string, args: binaryen.ExpressionRef[]): binaryen.ExpressionRef {
    const f = this.runtime.get(exportName);
    if (!f) throw compileError(`the runtime has no function ${exportName} (rebuild it: npm run build:runtime)`);
    return this.module.call(f.internal, args, f.results);
  }

  /** A call to a plan func or a builtin; returns the value pointer (0 = undefined). */
  callFunction(name: string, args: binaryen.ExpressionRef[]): binaryen.ExpressionRef {
    const arity = this.funcArity.get(name);
    if (arity !== undefined) {
      if (arity !== args.length) throw compileError(`${name} takes ${arity} arguments, called with ${args.length}`);
      return this.module.call(funcName(name), args, i32);
    }
    const builtin = BUILTINS[name] ?? CORE_BUILTINS[name];
    if (!builtin) {
      throw new PortcullisError(
        ErrorCodes.REGO_UNSUPPORTED_BUILTIN,
        `builtin ${name} is not supported by the wasm compiler`,
        { builtin: name },
      );
    }
    if (builtin.arity !== args.length) {
      throw compileError(`builtin ${name} takes ${builtin.arity} arguments, called with ${args.length}`);
    }
    if (builtin.export === SDK_BUILTIN) return this.callSdkBuiltin(name, args);
    if (!this.runtime.has(builtin.export)) {
      throw new PortcullisError(
        ErrorCodes.REGO_UNSUPPORTED_BUILTIN,
        `builtin ${name}: the runtime has no ${builtin.export} (rebuild it: npm run build:runtime)`,
        { builtin: name },
      );
    }
    return this.callRuntime(builtin.export, args);
  }

  private callSdkBuiltin(name: string, args: binaryen.ExpressionRef[]): binaryen.ExpressionRef {
    if (args.length > 4) throw compileError(`SDK builtin ${name} has more than 4 arguments`);
    let id = this.sdkBuiltins.get(name);
    if (id === undefined) {
      id = this.sdkBuiltins.size;
      this.sdkBuiltins.set(name, id);
    }
    const n = args.length;
    if (!this.builtinImports.has(n)) {
      this.builtinImports.add(n);
      const params = binaryen.createType(Array.from({ length: n + 2 }, () => i32));
      this.module.addFunctionImport(`opa_builtin${n}`, 'env', `opa_builtin${n}`, params, i32);
    }
    const m = this.module;
    return m.call(`opa_builtin${n}`, [m.i32.const(id), m.i32.const(0), ...args], i32);
  }

  /**
   * CallDynamicStmt: walks the function mapping (an object tree of func
   * paths whose leaves are function table indices) with the path's values,
   * then calls through the table; a path that names no function is undefined.
   */
  callDynamic(path: binaryen.ExpressionRef[], args: binaryen.ExpressionRef[], temp: number): binaryen.ExpressionRef {
    const m = this.module;
    this.usesDynamicCalls = true;
    let cur = m.global.get('abi:mapping', i32);
    for (const key of path) cur = this.callRuntime('rt_dot', [cur, key]);
    const params = binaryen.createType(args.map(() => i32));
    return m.if(
      m.i32.lt_s(m.local.tee(temp, this.callRuntime('rt_mapping_index', [cur]), i32), m.i32.const(0)),
      m.i32.const(0),
      m.call_indirect('abi:funcs', m.local.get(temp, i32), args, params, i32),
    );
  }

  usesDynamicCalls = false;

  /** The function mapping as JSON, and the table's function names in index order. */
  functionMapping(): { json: string; table: string[] } {
    const root: Record<string, unknown> = {};
    const table: string[] = [];
    for (const f of this.policy.funcs?.funcs ?? []) {
      // Dynamic calls reach rules (input, data) only.
      if (!f.path || f.path.length === 0 || f.params.length !== 2) continue;
      let node = root;
      let ok = true;
      for (const key of f.path.slice(0, -1)) {
        const next = node[key];
        if (next === undefined) node[key] = {};
        else if (typeof next !== 'object') { ok = false; break; }
        node = node[key] as Record<string, unknown>;
      }
      const leaf = f.path[f.path.length - 1];
      if (!ok || node[leaf] !== undefined) continue;
      node[leaf] = table.length;
      table.push(funcName(f.name));
    }
    return { json: JSON.stringify(root), table };
  }
}
