/** Small builders for hand-written IR plans in tests. */
import type { Block, Func, Operand, Policy, Stmt } from '../../../../src/policy/rego/ir.ts';
import { emitWasm } from '../../../../src/policy/rego/emit/index.ts';
import { loadPolicy } from '@open-policy-agent/opa-wasm';

/** The parts of the WebAssembly global the tests use (not in the ES2023 lib). */
export interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: (new (bytes: Uint8Array) => object) & {
    exports(m: object): { name: string; kind: string }[];
    imports(m: object): { module: string; name: string; kind: string }[];
  };
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: object } }>;
}
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const local = (value: number): Operand => ({ type: 'local', value });
export const str = (value: number): Operand => ({ type: 'string_index', value });
export const bool = (value: boolean): Operand => ({ type: 'bool', value });
export const block = (...stmts: Stmt[]): Block => ({ stmts });

/** `{ type, stmt }` with the payload typed by statement name. */
export function s<K extends Stmt['type']>(type: K, stmt: Extract<Stmt, { type: K }>['stmt']): Stmt {
  return { type, stmt } as Stmt;
}

/** Statements that add `{"result": <local>}` to the result set. */
export function addResult(value: number, tmp: number, resultKey: number): Stmt[] {
  return [
    s('MakeObjectStmt', { target: tmp }),
    s('ObjectInsertStmt', { key: str(resultKey), value: local(value), object: tmp }),
    s('ResultSetAddStmt', { value: tmp }),
  ];
}

export function policy(strings: string[], plans: { name: string; blocks: Block[] }[], funcs: Func[] = []): Policy {
  return {
    static: { strings: strings.map((value) => ({ value })) },
    plans: { plans },
    funcs: { funcs },
  };
}

export interface Loaded {
  evaluate(input?: unknown, entrypoint?: string | number): unknown[];
}

/** Emits, loads in the OPA SDK, sets data; inputs are passed as JSON bytes (so falsy inputs stay inputs). */
export async function load(p: Policy, data?: unknown, builtins: Record<string, (...args: never[]) => unknown> = {}): Promise<Loaded> {
  const wasm = emitWasm(p);
  const loaded = await loadPolicy(wasm, undefined, builtins as never);
  if (data !== undefined) loaded.setData(data as object);
  return {
    evaluate(input?: unknown, entrypoint?: string | number): unknown[] {
      const bytes = input === undefined ? undefined : new TextEncoder().encode(JSON.stringify(input)).buffer;
      return loaded.evaluate(bytes, entrypoint ?? 0) as unknown[];
    },
  };
}

export interface RawModule {
  exports: Record<string, (...args: number[]) => number>;
  /** Copies JSON text into the module's heap: [address, length]. */
  write(json: string): [number, number];
  /** The NUL-terminated text at an address. */
  text(addr: number): string;
}

/** Instantiates an emitted module without the SDK (SDK builtins are not available). */
export async function instantiateRaw(p: Policy): Promise<RawModule> {
  const memory = new Wasm.Memory({ initial: 5 });
  const text = (addr: number): string => {
    const bytes = new Uint8Array(memory.buffer);
    let end = addr;
    while (bytes[end] !== 0) end++;
    return new TextDecoder().decode(bytes.subarray(addr, end));
  };
  const fail = (): never => {
    throw new Error('no builtins in raw tests');
  };
  const { instance } = await Wasm.instantiate(emitWasm(p), {
    env: {
      memory,
      opa_abort: (addr: number) => {
        throw new Error(text(addr));
      },
      opa_println: () => undefined,
      opa_builtin0: fail,
      opa_builtin1: fail,
      opa_builtin2: fail,
      opa_builtin3: fail,
      opa_builtin4: fail,
    },
  });
  const x = instance.exports as unknown as Record<string, (...args: number[]) => number>;
  const write = (json: string): [number, number] => {
    const bytes = new TextEncoder().encode(json);
    const addr = x.opa_malloc(bytes.length);
    new Uint8Array(memory.buffer).set(bytes, addr);
    return [addr, bytes.length];
  };
  return { exports: x, write, text };
}

/**
 * A function from input JSON text to the result set's JSON text through
 * `opa_eval`, unparsed, so that number text can be checked exactly.
 */
export async function loadRaw(p: Policy): Promise<(json: string) => string> {
  const { exports: x, write, text } = await instantiateRaw(p);
  const [dataText, dataLen] = write('{}');
  const data = x.opa_json_parse(dataText, dataLen);
  const base = x.opa_heap_ptr_get();
  return (json: string) => {
    x.opa_heap_ptr_set(base);
    const [addr, len] = write(json);
    return text(x.opa_eval(0, 0, data, addr, len, addr + len, 0));
  };
}
