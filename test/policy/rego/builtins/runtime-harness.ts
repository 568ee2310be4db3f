// Calls the runtime's builtin exports directly (build/runtime.wasm), without
// a compiled policy: arguments are built from JavaScript values, results are
// dumped as JSON. Errors raised by a builtin (opa_abort) are thrown as
// `BuiltinError` with the runtime's message.
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const WASM = join(ROOT, 'build/runtime.wasm');

export class BuiltinError extends Error {}

/** The parts of the WebAssembly global used here (not in the ES2023 lib). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: (new (bytes: Uint8Array) => object) & { imports(m: object): { name: string }[] };
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A number written as exact JSON text (for integers beyond 2^53). */
export class Num {
  constructor(readonly text: string) {}
}

interface Exports {
  rt_init(base: number): void;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(p: number): void;
  opa_malloc(n: number): number;
  opa_json_parse(p: number, n: number): number;
  opa_json_dump(v: number): number;
  rt_make_array(cap: number): number;
  rt_make_object(): number;
  rt_make_set(): number;
  rt_array_append(a: number, v: number): void;
  rt_object_insert(o: number, k: number, v: number): void;
  rt_set_add(s: number, v: number): void;
  [name: string]: unknown;
}

export interface Runtime {
  /** Calls `builtin_<name>`; the result as JSON text, or undefined. */
  callText(name: string, ...args: unknown[]): string | undefined;
  /** Calls `builtin_<name>`; the result parsed (sets become arrays). */
  call(name: string, ...args: unknown[]): unknown;
  has(name: string): boolean;
}

let built = false;

function ensureBuilt(): void {
  if (built && existsSync(WASM)) return;
  if (!existsSync(WASM) || process.env.PORTCULLIS_REBUILD_RUNTIME === '1') {
    const r = spawnSync(process.execPath, ['scripts/build-runtime.mjs'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('runtime build failed');
  }
  built = true;
}

export function exportName(builtin: string): string {
  return `builtin_${builtin.replace(/\./g, '_')}`;
}

export async function loadRuntime(): Promise<Runtime> {
  ensureBuilt();
  const memory = new Wasm.Memory({ initial: 32 });
  const decoder = new TextDecoder();
  const readCString = (addr: number): string => {
    const bytes = new Uint8Array(memory.buffer);
    let end = addr;
    while (bytes[end] !== 0) end++;
    return decoder.decode(bytes.subarray(addr, end));
  };
  const imports = {
    env: {
      memory,
      opa_abort: (addr: number) => {
        throw new BuiltinError(readCString(addr));
      },
      opa_println: (addr: number) => console.log(readCString(addr)),
      opa_builtin0: () => 0,
      opa_builtin1: () => 0,
      opa_builtin2: () => 0,
      opa_builtin3: () => 0,
      opa_builtin4: () => 0,
    },
  };
  const module = new Wasm.Module(readFileSync(WASM));
  const wanted = new Set(Wasm.Module.imports(module).map((i) => i.name));
  const env = Object.fromEntries(Object.entries(imports.env).filter(([k]) => wanted.has(k)));
  const instance = new Wasm.Instance(module, { env });
  const x = instance.exports as unknown as Exports;
  x.rt_init(1 << 20);
  const base = x.opa_heap_ptr_get();
  const encoder = new TextEncoder();

  const parse = (text: string): number => {
    const bytes = encoder.encode(text);
    const p = x.opa_malloc(bytes.length);
    new Uint8Array(memory.buffer).set(bytes, p);
    const v = x.opa_json_parse(p, bytes.length);
    if (v === 0) throw new Error(`runtime could not parse ${text}`);
    return v;
  };
  const toValue = (js: unknown): number => {
    if (js instanceof Num) return parse(js.text);
    if (typeof js === 'bigint') return parse(js.toString());
    if (js instanceof Set) {
      const s = x.rt_make_set();
      for (const e of js) x.rt_set_add(s, toValue(e));
      return s;
    }
    if (js instanceof Map) {
      const o = x.rt_make_object();
      for (const [k, v] of js) x.rt_object_insert(o, toValue(k), toValue(v));
      return o;
    }
    if (Array.isArray(js)) {
      const a = x.rt_make_array(js.length);
      for (const e of js) x.rt_array_append(a, toValue(e));
      return a;
    }
    if (js !== null && typeof js === 'object') {
      const o = x.rt_make_object();
      for (const [k, v] of Object.entries(js)) x.rt_object_insert(o, parse(JSON.stringify(k)), toValue(v));
      return o;
    }
    return parse(JSON.stringify(js));
  };
  const callText = (name: string, ...args: unknown[]): string | undefined => {
    x.opa_heap_ptr_set(base);
    const fn = x[exportName(name)];
    if (typeof fn !== 'function') throw new Error(`runtime has no ${exportName(name)}`);
    const vals = args.map(toValue);
    const r = (fn as (...a: number[]) => number)(...vals);
    if (r === 0) return undefined;
    return readCString(x.opa_json_dump(r));
  };
  return {
    callText,
    call(name, ...args) {
      const t = callText(name, ...args);
      return t === undefined ? undefined : JSON.parse(t);
    },
    has(name) {
      return typeof x[exportName(name)] === 'function';
    },
  };
}
