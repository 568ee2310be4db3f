/**
 * What the statement compiler needs from the module being built: the
 * policy's constants, runtime functions by export name, and calls to plan
 * funcs and builtins (runtime exports, or the SDK's JavaScript builtins
 * through the runtime's `opa_builtinN` imports).
 */
import type { Policy } from '../ir.ts';
import type { StaticData } from './static-data.ts';
import type { RuntimeImage } from './wasm/runtime-image.ts';
import { w, type Expr, type ValType } from './wasm/builder.ts';
import { BUILTINS, SDK_BUILTIN } from '../builtins.ts';
import { PortcullisError, ErrorCodes } from '../../../errors.ts';
import { compileError } from './function-compiler.ts';

/** Language-core builtins the runtime implements beside the shared table. */
const CORE_BUILTINS: Record<string, { export: string; arity: number }> = {
  'internal.template_string': { export: 'builtin_internal_template_string', arity: 1 },
};

/** Steps left in the current evaluation, and the budget each evaluation starts with (the host may set it). */
export const STEPS_LEFT = 'abi:steps_left';
export const MAX_STEPS = 'abi:max_steps';
/** The budget when the host sets none: far beyond any real policy, a fraction of a second to a few seconds of work. */
export const DEFAULT_MAX_STEPS = 10_000_000;

/** 1: a builtin's error ends the evaluation (the default); 0: it makes the call undefined, as OPA's default mode. */
export const STRICT_BUILTIN_ERRORS = 'abi:strict_builtin_errors';

/** Internal name of the function compiled from IR func `name`. */
export function funcName(name: string): string {
  return `func:${name}`;
}

export class EmitContext {
  /** SDK builtins the policy calls, by name → id (the `builtins` export). */
  readonly sdkBuiltins = new Map<string, number>();
  private readonly funcArity = new Map<string, number>();
  /** Memo table slot of each rule (func of input and data only). */
  private readonly memoSlots = new Map<string, number>();
  usesDynamicCalls = false;

  constructor(
    readonly statics: StaticData,
    private readonly policy: Policy,
    private readonly runtime: RuntimeImage,
  ) {
    for (const f of policy.funcs?.funcs ?? []) {
      this.funcArity.set(f.name, f.params.length);
      if (f.params.length === 2) this.memoSlots.set(f.name, this.memoSlots.size);
    }
  }

  memoSlot(func: string): number | undefined {
    return this.memoSlots.get(func);
  }

  /** A fresh, empty memo table. */
  newMemo(): Expr {
    const size = Math.max(4, this.memoSlots.size * 4);
    return w.globalSet('abi:memo', this.callRuntime('rt_alloc_zero', [w.const(size)]));
  }

  stringValue(index: number): string {
    const s = this.policy.static.strings[index];
    if (s === undefined) throw compileError(`string index ${index} is out of range`);
    return s.value;
  }

  /** A static string `file:row` for error messages, or 0 when the statement has no position. */
  location(pos: { file?: number; row?: number }): number {
    const file = pos.file === undefined ? undefined : this.policy.static.files?.[pos.file]?.value;
    if (file === undefined || pos.row === undefined) return 0;
    return this.statics.string(`${file}:${pos.row}`);
  }

  stringAddr(index: number): number {
    return this.statics.string(this.stringValue(index));
  }

  private runtimeResult(exportName: string): ValType {
    const index = this.runtime.exports.get(exportName);
    if (index === undefined) {
      throw compileError(`the runtime has no function ${exportName} (rebuild it: npm run build:runtime)`);
    }
    const imported = this.runtime.importedFuncs.length;
    const type = index < imported ? this.runtime.importedFuncs[index].type : this.runtime.funcTypes[index - imported];
    return this.runtime.types[type].results.length > 0 ? 'i32' : 'none';
  }

  /** Name of a runtime function (checked to exist). */
  fn(exportName: string): string {
    this.runtimeResult(exportName);
    return exportName;
  }

  callRuntime(exportName: string, args: Expr[]): Expr {
    return w.call(exportName, args, this.runtimeResult(exportName));
  }

  /** A call to a plan func or a builtin; returns the value pointer (0 = undefined). */
  callFunction(name: string, args: Expr[]): Expr {
    const arity = this.funcArity.get(name);
    if (arity !== undefined) {
      if (arity !== args.length) throw compileError(`${name} takes ${arity} arguments, called with ${args.length}`);
      return w.call(funcName(name), args, 'i32');
    }
    const builtin = BUILTINS[name] ?? CORE_BUILTINS[name];
    if (!builtin) {
      throw new PortcullisError(ErrorCodes.REGO_UNSUPPORTED_BUILTIN, `builtin ${name} is not supported by the wasm compiler`, {
        builtin: name,
      });
    }
    if (builtin.arity !== args.length) {
      throw compileError(`builtin ${name} takes ${builtin.arity} arguments, called with ${args.length}`);
    }
    if (builtin.export === SDK_BUILTIN) return this.builtinErrorsUndefined(this.callSdkBuiltin(name, args));
    if (!this.runtime.exports.has(builtin.export)) {
      throw new PortcullisError(
        ErrorCodes.REGO_UNSUPPORTED_BUILTIN,
        `builtin ${name}: the runtime has no ${builtin.export} (rebuild it: npm run build:runtime)`,
        { builtin: name },
      );
    }
    return this.builtinErrorsUndefined(this.callRuntime(builtin.export, args));
  }

  private tryCount = 0;

  /**
   * A builtin call whose error (an abort: the SDK's `opa_abort` throws) is
   * undefined unless builtin errors are strict, as in OPA's default
   * evaluation. Only builtins are wrapped: conflicts and the step budget
   * are raised by policy code and always end the evaluation.
   */
  private builtinErrorsUndefined(call: Expr): Expr {
    const label = `builtin_try${this.tryCount++}`;
    const handler = w.block(null, [w.if(w.globalGet(STRICT_BUILTIN_ERRORS), w.rethrow(label)), w.const(0)], 'i32');
    return w.tryCatchAll(label, call, handler, 'i32');
  }

  private callSdkBuiltin(name: string, args: Expr[]): Expr {
    if (args.length > 4) throw compileError(`SDK builtin ${name} has more than 4 arguments`);
    let id = this.sdkBuiltins.get(name);
    if (id === undefined) {
      id = this.sdkBuiltins.size;
      this.sdkBuiltins.set(name, id);
    }
    const call = this.callRuntime(`rt_sdk_builtin${args.length}`, [w.const(id), ...args]);
    if (args.length > 0) return call;
    // Without arguments (time.now_ns, opa.runtime): one value per evaluation, as OPA.
    const cache = `abi:sdk0:${id}`;
    this.evalCaches.add(cache);
    return w.block(null, [
      w.if(w.eqz(w.globalGet(cache)), w.globalSet(cache, call)),
      w.globalGet(cache),
    ], 'i32');
  }

  /** Globals holding per-evaluation values, reset when an evaluation starts. */
  readonly evalCaches = new Set<string>();

  /** Statements that start an evaluation: a fresh memo table, empty caches, a full step budget. */
  beginEvaluation(): Expr[] {
    return [
      this.newMemo(),
      ...[...this.evalCaches].map((g) => w.globalSet(g, w.const(0))),
      w.globalSet(STEPS_LEFT, w.globalGet(MAX_STEPS)),
    ];
  }

  /**
   * One step of the evaluation budget (a scan iteration or a function
   * call): wasm runs synchronously, so nothing outside can stop a runaway
   * evaluation; the code stops itself when the budget is spent.
   */
  step(): Expr {
    return w.block(null, [
      w.globalSet(STEPS_LEFT, w.sub(w.globalGet(STEPS_LEFT), w.const(1))),
      w.if(w.ltS(w.globalGet(STEPS_LEFT), w.const(0)), w.call(this.fn('rt_budget_exceeded'), [w.globalGet(MAX_STEPS)], 'none')),
    ]);
  }

  /**
   * CallDynamicStmt: walks the function mapping (an object tree of func
   * paths whose leaves are function table indices) with the path's values,
   * then calls through the table; a path that names no function is undefined.
   */
  callDynamic(path: Expr[], args: Expr[], temp: number): Expr {
    this.usesDynamicCalls = true;
    let cur = w.globalGet('abi:mapping');
    for (const key of path) cur = this.callRuntime('rt_dot', [cur, key]);
    return w.if(
      w.ltS(w.localTee(temp, this.callRuntime('rt_mapping_index', [cur])), w.const(0)),
      w.const(0),
      w.callIndirect(w.localGet(temp), args, 'i32'),
    );
  }

  /** Table index of the policy's first table entry (the runtime's own come first). */
  get tableBase(): number {
    return this.runtime.tableSize;
  }

  get hasRuntimeStart(): boolean {
    return this.runtime.startFunc !== null;
  }

  /** The function mapping as JSON (leaves are table indices from `base`), and the table's function names. */
  functionMapping(base: number): { json: string; table: string[] } {
    const root: Record<string, unknown> = {};
    const table: string[] = [];
    for (const f of this.policy.funcs?.funcs ?? []) {
      // Dynamic calls reach rules (input, data) only.
      if (!f.path || f.path.length === 0 || f.params.length !== 2) continue;
      const node = mappingParent(root, f.path);
      const leaf = f.path[f.path.length - 1];
      if (node === undefined || node[leaf] !== undefined) continue;
      node[leaf] = base + table.length;
      table.push(funcName(f.name));
    }
    return { json: JSON.stringify(root), table };
  }
}

/**
 * The object of the function mapping that holds `path`'s last key, made
 * along the way; undefined when a function already sits on the way.
 */
function mappingParent(root: Record<string, unknown>, path: string[]): Record<string, unknown> | undefined {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object') return undefined;
    node = node[key] as Record<string, unknown>;
  }
  return node;
}
