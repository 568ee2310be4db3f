/**
 * Assembles the policy module: the runtime's sections with the policy's
 * types, functions, globals, table, exports, start function and data
 * appended. The runtime's code is copied byte for byte, so emitting costs
 * little more than encoding the policy itself.
 */
import { Bytes, encodeExpr, type Resolver } from './encode.ts';
import { w, type Expr, type ValType } from './builder.ts';
import { Reader, type FuncType, type RuntimeImage } from './runtime-image.ts';
import { calledNames, reachableFunctions, renumberBody } from './prune.ts';

export interface NewFunction {
  name: string;
  params: number;
  result: ValType;
  /** Extra i32 locals after the params. */
  vars: number;
  body: Expr;
}

export interface NewGlobal {
  name: string;
  mutable: boolean;
  init: number;
}

export interface LinkInput {
  image: RuntimeImage;
  functions: NewFunction[];
  globals: NewGlobal[];
  /** Function names to append to the table (for call_indirect), after the runtime's own entries. */
  table: string[];
  /** Exported functions (export name → function name) and globals. */
  exportFuncs: [string, string][];
  exportGlobals: [string, string][];
  start: string;
  data: { offset: number; bytes: Uint8Array };
}

const I32 = 0x7f;

/** Name under which the policy's start function calls the runtime's. */
export const RUNTIME_START = 'runtime:start';

function section(out: Bytes, id: number, body: Bytes): void {
  out.byte(id).u32(body.length).append(body);
}

/** Count and remaining raw entries of a vector section. */
function splitVec(raw: Uint8Array | undefined): { count: number; rest: Uint8Array } {
  if (!raw) return { count: 0, rest: new Uint8Array(0) };
  const r = new Reader(raw);
  const count = r.u32();
  return { count, rest: raw.subarray(r.pos) };
}

/**
 * All data segments are passive and copied in by the start function after
 * growing memory as needed, so a module works with whatever memory size the
 * host gives it (the SDK's default is 5 pages), however large its static data.
 */
function withDataInit(input: LinkInput): { functions: NewFunction[]; start: string; segments: { offset: number; data: Uint8Array }[] } {
  const segments = [...input.image.segments, { offset: input.data.offset, data: input.data.bytes }];
  const end = Math.max(...segments.map((s) => s.offset + s.data.length));
  const pages = Math.ceil(end / 65536);
  const init: NewFunction = {
    name: 'link:start',
    params: 0,
    result: 'none',
    vars: 0,
    body: w.block(null, [
      w.if(w.ltS(w.memorySize(), w.const(pages)), w.drop(w.memoryGrow(w.sub(w.const(pages), w.memorySize())))),
      ...segments.flatMap((seg, i) => [w.memoryInit(i, w.const(seg.offset), w.const(0), w.const(seg.data.length)), w.dataDrop(i)]),
      w.call(input.start, [], 'none'),
    ]),
  };
  return { functions: [...input.functions, init], start: 'link:start', segments };
}

export function link(linkInput: LinkInput): Uint8Array {
  const { functions, start, segments } = withDataInit(linkInput);
  const input = { ...linkInput, functions, start };
  const { image } = input;
  const types: FuncType[] = image.types.map((t) => ({ params: [...t.params], results: [...t.results] }));
  const typeIndex = (params: number, result: ValType): number => {
    const want: FuncType = { params: Array(params).fill(I32), results: result === 'none' ? [] : [I32] };
    const found = types.findIndex((t) => t.params.length === want.params.length && t.params.every((p) => p === I32) && t.results.length === want.results.length && t.results.every((x) => x === I32));
    if (found >= 0) return found;
    types.push(want);
    return types.length - 1;
  };

  // Keep only the runtime functions the policy reaches, renumbered in order.
  const imported = image.importedFuncs.length;
  const policyNames = new Set(input.functions.map((f) => f.name));
  const used = new Set<string>();
  for (const f of input.functions) calledNames(f.body, used);
  for (const [, fn] of input.exportFuncs) used.add(fn);
  const roots: number[] = [];
  for (const name of used) {
    const i = policyNames.has(name) ? undefined : image.exports.get(name);
    if (i !== undefined) roots.push(i);
  }
  const kept = reachableFunctions(image, roots);
  const remap = new Map<number, number>();
  for (let i = 0; i < imported; i++) remap.set(i, i);
  kept.forEach((old, i) => remap.set(old, imported + i));
  const renumber = (old: number): number => {
    const i = remap.get(old);
    if (i === undefined) throw new Error(`wasm linker: runtime function ${old} was pruned but is referenced`);
    return i;
  };

  const firstNew = imported + kept.length;
  const funcIndex = new Map<string, number>();
  input.functions.forEach((f, i) => funcIndex.set(f.name, firstNew + i));
  const globalIndex = new Map<string, number>();
  input.globals.forEach((g, i) => globalIndex.set(g.name, image.globalCount + i));
  const newTypes = input.functions.map((f) => typeIndex(f.params, f.result));

  const resolver: Resolver = {
    func(name) {
      if (name === RUNTIME_START && image.startFunc !== null) return renumber(image.startFunc);
      const own = funcIndex.get(name);
      if (own !== undefined) return own;
      const i = image.exports.get(name);
      if (i === undefined) throw new Error(`wasm linker: unknown function ${name}`);
      return renumber(i);
    },
    global(name) {
      const i = globalIndex.get(name);
      if (i === undefined) throw new Error(`wasm linker: unknown global ${name}`);
      return i;
    },
    indirectType: (params) => typeIndex(params, 'i32'),
  };
  // Encode bodies first: call_indirect may add types.
  const bodies = input.functions.map((f) => {
    const b = new Bytes();
    b.u32(f.vars > 0 ? 1 : 0);
    if (f.vars > 0) b.u32(f.vars).byte(I32);
    encodeExpr(f.body, b, [], resolver);
    b.byte(0x0b);
    return b;
  });

  const out = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  const typeSec = new Bytes().u32(types.length);
  for (const t of types) typeSec.byte(0x60).vec(t.params).vec(t.results);
  section(out, 1, typeSec);

  const importSec = new Bytes().u32(image.importedFuncs.length + 1);
  importSec.name('env').name('memory').byte(0x02).byte(0x00).u32(1);
  for (const f of image.importedFuncs) importSec.name(f.module).name(f.name).byte(0x00).u32(f.type);
  section(out, 2, importSec);

  const funcSec = new Bytes().u32(kept.length + input.functions.length);
  for (const old of kept) funcSec.u32(image.funcTypes[old - imported]);
  for (const t of newTypes) funcSec.u32(t);
  section(out, 3, funcSec);

  const tableSize = image.tableSize + input.table.length;
  if (tableSize > 0) section(out, 4, new Bytes().u32(1).byte(0x70).byte(0x01).u32(tableSize).u32(tableSize));

  const globals = splitVec(image.sections.get(6));
  const globalSec = new Bytes().u32(globals.count + input.globals.length).bytes(globals.rest);
  for (const g of input.globals) globalSec.byte(I32).byte(g.mutable ? 1 : 0).byte(0x41).i32(g.init).byte(0x0b);
  section(out, 6, globalSec);

  const exportSec = new Bytes().u32(input.exportFuncs.length + input.exportGlobals.length);
  for (const [name, fn] of input.exportFuncs) exportSec.name(name).byte(0x00).u32(resolver.func(fn));
  for (const [name, g] of input.exportGlobals) exportSec.name(name).byte(0x03).u32(resolver.global(g));
  section(out, 7, exportSec);

  section(out, 8, new Bytes().u32(resolver.func(input.start)));

  if (input.table.length > 0 || image.elements.length > 0) {
    const elem = new Bytes().u32(image.elements.length + (input.table.length > 0 ? 1 : 0));
    for (const seg of image.elements) {
      elem.u32(0).byte(0x41).i32(seg.offset).byte(0x0b).u32(seg.funcs.length);
      for (const f of seg.funcs) elem.u32(renumber(f));
    }
    if (input.table.length > 0) {
      elem.u32(0).byte(0x41).i32(image.tableSize).byte(0x0b).u32(input.table.length);
      for (const name of input.table) elem.u32(resolver.func(name));
    }
    section(out, 9, elem);
  }

  section(out, 12, new Bytes().u32(segments.length));

  const codeSec = new Bytes().u32(kept.length + bodies.length);
  for (const old of kept) {
    const i = old - imported;
    const refs = image.refs[i];
    if (refs && refs.length > 0) {
      const body = renumberBody(image.bodies[i], refs, renumber);
      codeSec.u32(body.length).append(body);
    } else codeSec.vec(image.bodies[i]);
  }
  for (const body of bodies) codeSec.u32(body.length).append(body);
  section(out, 10, codeSec);

  const dataSec = new Bytes().u32(segments.length);
  for (const seg of segments) dataSec.u32(1).vec(seg.data);
  section(out, 11, dataSec);

  return out.out;
}
