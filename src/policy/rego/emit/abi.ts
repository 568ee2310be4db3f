/**
 * The OPA wasm ABI surface of an emitted module: version globals,
 * `entrypoints` and `builtins` (values the SDK dumps at load), `opa_eval`
 * (ABI 1.2 fast path), and the start function that puts the heap above the
 * static data and parses the constant JSON values.
 */
import { DEFAULT_MAX_STEPS, MAX_STEPS, STEPS_LEFT, STRICT_BUILTIN_ERRORS, type EmitContext } from './context.ts';
import { RUNTIME_START, type LinkInput, type NewFunction, type NewGlobal } from './wasm/link.ts';
import { w, type Expr } from './wasm/builder.ts';

/** Exports beyond OPA's ABI: the evaluation step budget (see README, "Evaluation budget"). */
export const MAX_STEPS_SET_EXPORT = 'portcullis_max_steps_set';
export const MAX_STEPS_GET_EXPORT = 'portcullis_max_steps_get';
/** Whether a builtin's error ends the evaluation (1, the default) or makes the call undefined (0). */
export const STRICT_BUILTIN_ERRORS_SET_EXPORT = 'portcullis_strict_builtin_errors_set';

export const ABI_VERSION = 1;
export const ABI_MINOR_VERSION = 2;

/** Runtime functions the SDK calls directly. */
const RUNTIME_ABI_EXPORTS = [
  'opa_malloc',
  'opa_json_parse',
  'opa_json_dump',
  'opa_heap_ptr_get',
  'opa_heap_ptr_set',
  // ABI 1.1 evaluation through a context (the SDK uses opa_eval when the minor version is 2).
  'opa_eval_ctx_new',
  'opa_eval_ctx_set_input',
  'opa_eval_ctx_set_data',
  'opa_eval_ctx_set_entrypoint',
  'opa_eval_ctx_get_result',
];

export interface Entrypoint {
  name: string;
  fn: string;
}

/** What the ABI adds to the link: everything of a link but the runtime image and the static data. */
export type Abi = Omit<LinkInput, 'image' | 'data'>;

/** Adds the ABI; call after every policy function is compiled (it closes the static data). */
export function buildAbi(ctx: EmitContext, entrypoints: Entrypoint[]): Abi {
  const statics = ctx.statics;
  const enc = new TextEncoder();
  const json = (text: string): Expr => {
    const bytes = enc.encode(text);
    return ctx.callRuntime('opa_json_parse', [w.const(statics.bytes(bytes)), w.const(bytes.length)]);
  };
  const entryValue = json(JSON.stringify(Object.fromEntries(entrypoints.map((e, i) => [e.name, i]))));
  const builtinValue = json(JSON.stringify(Object.fromEntries(ctx.sdkBuiltins)));
  const mapping = ctx.usesDynamicCalls ? ctx.functionMapping(ctx.tableBase) : { json: '{}', table: [] };
  const mappingValue = ctx.usesDynamicCalls ? json(mapping.json) : w.const(0);

  const globals: NewGlobal[] = [
    { name: 'abi:memo', mutable: true, init: 0 },
    { name: 'abi:entrypoints', mutable: true, init: 0 },
    { name: 'abi:builtins', mutable: true, init: 0 },
    { name: 'abi:mapping', mutable: true, init: 0 },
    { name: 'abi:version', mutable: false, init: ABI_VERSION },
    { name: 'abi:minor', mutable: false, init: ABI_MINOR_VERSION },
    { name: STEPS_LEFT, mutable: true, init: 0 },
    { name: MAX_STEPS, mutable: true, init: DEFAULT_MAX_STEPS },
    { name: STRICT_BUILTIN_ERRORS, mutable: true, init: 1 },
    ...[...ctx.evalCaches].map((name) => ({ name, mutable: true, init: 0 })),
  ];

  const p = (n: number): Expr => w.localGet(n);
  const dispatch = (entry: Expr, input: Expr, data: Expr): Expr =>
    w.block('abi:dispatched', [
      ...entrypoints.map((e, i) =>
        w.if(w.eq(entry, w.const(i)), w.block(null, [w.call(e.fn, [input, data], 'none'), w.br('abi:dispatched')])),
      ),
      w.call(ctx.fn('rt_invalid_entrypoint'), [entry], 'none'),
    ]);
  // opa_eval(reserved, entrypoint, data, input, inputLen, heapPtr, format) -> result JSON address
  const input = 7;
  const opaEval: NewFunction = {
    name: 'abi:opa_eval',
    params: 7,
    result: 'i32',
    vars: 1,
    body: w.block(null, [
      w.localSet(input, ctx.callRuntime('rt_eval_begin', [p(5), p(3), p(4)])),
      ...ctx.beginEvaluation(),
      dispatch(p(1), w.localGet(input), p(2)),
      ctx.callRuntime('rt_eval_end', []),
    ], 'i32'),
  };
  // eval(ctx) -> 0, the ABI 1.1 entry: input, data and entrypoint come from the context.
  const evalCtx: NewFunction = {
    name: 'abi:eval',
    params: 1,
    result: 'i32',
    vars: 0,
    body: w.block(null, [
      w.call(ctx.fn('rt_ctx_begin'), [], 'none'),
      ...ctx.beginEvaluation(),
      dispatch(w.load(p(0), 8), w.load(p(0), 0), w.load(p(0), 4)),
      w.call(ctx.fn('rt_ctx_end'), [p(0)], 'none'),
      w.const(0),
    ], 'i32'),
  };

  // Everything is in static data now: the heap starts above it.
  const start: NewFunction = {
    name: 'abi:start',
    params: 0,
    result: 'none',
    vars: 0,
    body: w.block(null, [
      w.call(ctx.fn('rt_init'), [w.const(statics.end)], 'none'),
      // The runtime's top-level initialisers, after the heap is set up.
      ...(ctx.hasRuntimeStart ? [w.call(RUNTIME_START, [], 'none')] : []),
      w.globalSet('abi:entrypoints', entryValue),
      w.globalSet('abi:builtins', builtinValue),
      w.globalSet('abi:mapping', mappingValue),
    ]),
  };
  const getter = (name: string, global: string): NewFunction => ({ name, params: 0, result: 'i32', vars: 0, body: w.globalGet(global) });
  // The host's setter for the step budget (values below 1 leave it as it is).
  const setStrict: NewFunction = {
    name: 'abi:strict_builtin_errors_set',
    params: 1,
    result: 'none',
    vars: 0,
    body: w.globalSet(STRICT_BUILTIN_ERRORS, w.ne(p(0), w.const(0))),
  };
  const setMaxSteps: NewFunction = {
    name: 'abi:max_steps_set',
    params: 1,
    result: 'none',
    vars: 0,
    body: w.if(w.ltS(w.const(0), p(0)), w.globalSet(MAX_STEPS, p(0))),
  };

  return {
    functions: [
      opaEval,
      evalCtx,
      start,
      getter('abi:entrypoints_fn', 'abi:entrypoints'),
      getter('abi:builtins_fn', 'abi:builtins'),
      setMaxSteps,
      setStrict,
      getter('abi:max_steps_fn', MAX_STEPS),
    ],
    globals,
    table: mapping.table,
    exportFuncs: [
      ...RUNTIME_ABI_EXPORTS.map((n): [string, string] => [n, ctx.fn(n)]),
      ['opa_eval', 'abi:opa_eval'],
      ['eval', 'abi:eval'],
      ['entrypoints', 'abi:entrypoints_fn'],
      ['builtins', 'abi:builtins_fn'],
      [MAX_STEPS_SET_EXPORT, 'abi:max_steps_set'],
      [MAX_STEPS_GET_EXPORT, 'abi:max_steps_fn'],
      [STRICT_BUILTIN_ERRORS_SET_EXPORT, 'abi:strict_builtin_errors_set'],
    ],
    exportGlobals: [
      ['opa_wasm_abi_version', 'abi:version'],
      ['opa_wasm_abi_minor_version', 'abi:minor'],
    ],
    start: 'abi:start',
  };
}
