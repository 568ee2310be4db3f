// Entry of the Rego wasm runtime (AssemblyScript). Exports the ABI functions
// the OPA SDK calls, the operations the emitted policy code calls (rt_*), and
// every builtin (builtin_*). The emitter keeps only what a policy uses.

import { alloc, heapGet, heapSet } from './memory';
import { parseJson, dumpJson } from './json';

export function opa_malloc(size: usize): usize { return alloc(size); }
export function opa_heap_ptr_get(): usize { return heapGet(); }
export function opa_heap_ptr_set(ptr: usize): void { heapSet(ptr); }
export function opa_json_parse(ptr: usize, len: usize): usize { return parseJson(ptr, len); }
export function opa_json_dump(v: usize): usize { return dumpJson(v); }

export * from './eval';
export * from './ops';
export * from './sdk';
export * from './builtins/index';
export { runtimeAbort } from './abort';
