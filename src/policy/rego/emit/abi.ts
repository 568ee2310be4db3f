/**
 * The OPA wasm ABI surface of an emitted module: version globals,
 * `entrypoints` and `builtins` (values dumped by the SDK at load), `opa_eval`
 * (ABI 1.2 fast path), the start function that sets the heap above the
 * static data, the memory import with all data segments, and the exports.
 */
import binaryen from 'binaryen';
import type { EmitContext } from './context.ts';
import type { LoadedRuntime } from './runtime-module.ts';

const { i32, none } = binaryen;

export const ABI_VERSION = 1;
export const ABI_MINOR_VERSION = 2;

/** Exports the SDK uses: runtime export name → exported name. */
const RUNTIME_ABI_EXPORTS = ['opa_malloc', 'opa_json_parse', 'opa_json_dump', 'opa_heap_ptr_get', 'opa_heap_ptr_set'];

export interface Entrypoint {
  name: string;
  fn: string;
}

/** Adds the ABI; returns the names of the functions it added. */
export function addAbi(ctx: EmitContext, rt: LoadedRuntime, entrypoints: Entrypoint[]): string[] {
  const m = ctx.module;
  const statics = ctx.statics;
  const enc = new TextEncoder();
  const entryJson = enc.encode(JSON.stringify(Object.fromEntries(entrypoints.map((e, i) => [e.name, i]))));
  const builtinJson = enc.encode(JSON.stringify(Object.fromEntries(ctx.sdkBuiltins)));
  const mapping = ctx.functionMapping();
  const mappingJson = enc.encode(mapping.json);
  const mappingAddr = ctx.usesDynamicCalls ? statics.bytes(mappingJson) : 0;
  const entryAddr = statics.bytes(entryJson);
  const builtinAddr = statics.bytes(builtinJson);

  m.addGlobal('abi:entrypoints', i32, true, m.i32.const(0));
  m.addGlobal('abi:builtins', i32, true, m.i32.const(0));
  m.addGlobal('abi:mapping', i32, true, m.i32.const(0));
  if (ctx.usesDynamicCalls) {
    m.addTable('abi:funcs', mapping.table.length, mapping.table.length);
    m.addActiveElementSegment('abi:funcs', 'abi:funcs_elems', mapping.table, m.i32.const(0));
  }
  m.addGlobal('abi:version', i32, false, m.i32.const(ABI_VERSION));
  m.addGlobal('abi:minor', i32, false, m.i32.const(ABI_MINOR_VERSION));

  m.addFunction('abi:entrypoints_fn', none, i32, [], m.global.get('abi:entrypoints', i32));
  m.addFunction('abi:builtins_fn', none, i32, [], m.global.get('abi:builtins', i32));

  // opa_eval(reserved, entrypoint, data, input, inputLen, heapPtr, format) -> result JSON address
  const p = (n: number): binaryen.ExpressionRef => m.local.get(n, i32);
  const inputLocal = 7;
  const dispatch = entrypoints.map((e, i) =>
    m.if(m.i32.eq(p(1), m.i32.const(i)), m.call(e.fn, [m.local.get(inputLocal, i32), p(2)], none)),
  );
  m.addFunction(
    'abi:opa_eval',
    binaryen.createType([i32, i32, i32, i32, i32, i32, i32]),
    i32,
    [i32],
    m.block(null, [
      m.local.set(inputLocal, ctx.callRuntime('rt_eval_begin', [p(5), p(3), p(4)])),
      ctx.newMemo(),
      ...dispatch,
      ctx.callRuntime('rt_eval_end', []),
    ], i32),
  );

  // Everything is in static data now: lay out memory and set the heap above it.
  const staticEnd = statics.end;
  const startBody: binaryen.ExpressionRef[] = [];
  if (rt.startFunction) startBody.push(m.call(rt.startFunction, [], none));
  startBody.push(
    m.call(ctx.fn('rt_init'), [m.i32.const(staticEnd)], none),
    m.global.set('abi:entrypoints', ctx.callRuntime('opa_json_parse', [m.i32.const(entryAddr), m.i32.const(entryJson.length)])),
    m.global.set('abi:builtins', ctx.callRuntime('opa_json_parse', [m.i32.const(builtinAddr), m.i32.const(builtinJson.length)])),
  );
  if (ctx.usesDynamicCalls) {
    startBody.push(
      m.global.set('abi:mapping', ctx.callRuntime('opa_json_parse', [m.i32.const(mappingAddr), m.i32.const(mappingJson.length)])),
    );
  }
  const start = m.addFunction('abi:start', none, none, [], m.block(null, startBody));
  m.setStart(start);

  const pages = Math.max(rt.memoryInitial, Math.ceil((staticEnd + 65536) / 65536));
  for (let i = m.getNumExports() - 1; i >= 0; i--) {
    m.removeExport(binaryen.getExportInfo(m.getExportByIndex(i)).name);
  }
  m.setMemory(
    pages,
    -1,
    null,
    [
      ...rt.segments.map((s) => ({ offset: m.i32.const(s.offset), data: s.data })),
      { offset: m.i32.const(statics.base), data: statics.segment() },
    ],
    false,
    false,
    rt.memoryName,
  );
  m.addMemoryImport(rt.memoryName, 'env', 'memory');

  for (const name of RUNTIME_ABI_EXPORTS) m.addFunctionExport(ctx.fn(name), name);
  m.addFunctionExport('abi:opa_eval', 'opa_eval');
  m.addFunctionExport('abi:entrypoints_fn', 'entrypoints');
  m.addFunctionExport('abi:builtins_fn', 'builtins');
  m.addGlobalExport('abi:version', 'opa_wasm_abi_version');
  m.addGlobalExport('abi:minor', 'opa_wasm_abi_minor_version');
  return ['abi:opa_eval', 'abi:start'];
}
