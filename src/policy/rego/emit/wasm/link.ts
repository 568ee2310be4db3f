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
  return new Linker({ ...linkInput, functions, start }, segments).module();
}

/** Function types, the runtime's first; a type the policy needs is added once. */
class TypeTable {
  readonly types: FuncType[];

  constructor(image: RuntimeImage) {
    this.types = image.types.map((t) => ({ params: [...t.params], results: [...t.results] }));
  }

  /** The index of `(i32 × params) -> result`. */
  index(params: number, result: ValType): number {
    const results = result === 'none' ? 0 : 1;
    const found = this.types.findIndex((t) => t.params.length === params && t.params.every((p) => p === I32) && t.results.length === results && t.results.every((x) => x === I32));
    if (found >= 0) return found;
    this.types.push({ params: Array(params).fill(I32), results: results === 0 ? [] : [I32] });
    return this.types.length - 1;
  }
}

class Linker {
  private readonly image: RuntimeImage;
  private readonly types: TypeTable;
  private readonly imported: number;
  /** The runtime functions kept (old indices, ascending) and their new indices. */
  private readonly kept: number[];
  private readonly remap = new Map<number, number>();
  private readonly funcIndex = new Map<string, number>();
  private readonly globalIndex = new Map<string, number>();
  private readonly resolver: Resolver;

  constructor(
    private readonly input: LinkInput,
    private readonly segments: { offset: number; data: Uint8Array }[],
  ) {
    this.image = input.image;
    this.types = new TypeTable(this.image);
    this.imported = this.image.importedFuncs.length;
    this.kept = reachableFunctions(this.image, this.runtimeRoots());
    for (let i = 0; i < this.imported; i++) this.remap.set(i, i);
    this.kept.forEach((old, i) => this.remap.set(old, this.imported + i));
    const firstNew = this.imported + this.kept.length;
    input.functions.forEach((f, i) => this.funcIndex.set(f.name, firstNew + i));
    input.globals.forEach((g, i) => this.globalIndex.set(g.name, this.image.globalCount + i));
    this.resolver = {
      func: (name) => this.func(name),
      global: (name) => this.global(name),
      indirectType: (params) => this.types.index(params, 'i32'),
    };
  }

  /** The runtime functions the policy's code and exports name: where pruning starts. */
  private runtimeRoots(): number[] {
    const policyNames = new Set(this.input.functions.map((f) => f.name));
    const used = new Set<string>();
    for (const f of this.input.functions) calledNames(f.body, used);
    for (const [, fn] of this.input.exportFuncs) used.add(fn);
    const roots: number[] = [];
    for (const name of used) {
      const i = policyNames.has(name) ? undefined : this.image.exports.get(name);
      if (i !== undefined) roots.push(i);
    }
    return roots;
  }

  private renumber(old: number): number {
    const i = this.remap.get(old);
    if (i === undefined) throw new Error(`wasm linker: runtime function ${old} was pruned but is referenced`);
    return i;
  }

  private func(name: string): number {
    if (name === RUNTIME_START && this.image.startFunc !== null) return this.renumber(this.image.startFunc);
    const own = this.funcIndex.get(name);
    if (own !== undefined) return own;
    const i = this.image.exports.get(name);
    if (i === undefined) throw new Error(`wasm linker: unknown function ${name}`);
    return this.renumber(i);
  }

  private global(name: string): number {
    const i = this.globalIndex.get(name);
    if (i === undefined) throw new Error(`wasm linker: unknown global ${name}`);
    return i;
  }

  module(): Uint8Array {
    const newTypes = this.input.functions.map((f) => this.types.index(f.params, f.result));
    // Encode bodies first: call_indirect may add types.
    const bodies = this.input.functions.map((f) => this.encodeBody(f));
    const out = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    section(out, 1, this.typeSection());
    section(out, 2, this.importSection());
    section(out, 3, this.functionSection(newTypes));
    const tableSize = this.image.tableSize + this.input.table.length;
    if (tableSize > 0) section(out, 4, new Bytes().u32(1).byte(0x70).byte(0x01).u32(tableSize).u32(tableSize));
    section(out, 6, this.globalSection());
    section(out, 7, this.exportSection());
    section(out, 8, new Bytes().u32(this.func(this.input.start)));
    if (this.input.table.length > 0 || this.image.elements.length > 0) section(out, 9, this.elementSection());
    section(out, 12, new Bytes().u32(this.segments.length));
    section(out, 10, this.codeSection(bodies));
    const dataSec = new Bytes().u32(this.segments.length);
    for (const seg of this.segments) dataSec.u32(1).vec(seg.data);
    section(out, 11, dataSec);
    return out.out;
  }

  private encodeBody(f: NewFunction): Bytes {
    const b = new Bytes();
    b.u32(f.vars > 0 ? 1 : 0);
    if (f.vars > 0) b.u32(f.vars).byte(I32);
    encodeExpr(f.body, b, [], this.resolver);
    b.byte(0x0b);
    return b;
  }

  private typeSection(): Bytes {
    const typeSec = new Bytes().u32(this.types.types.length);
    for (const t of this.types.types) typeSec.byte(0x60).vec(t.params).vec(t.results);
    return typeSec;
  }

  private importSection(): Bytes {
    const importSec = new Bytes().u32(this.image.importedFuncs.length + 1);
    importSec.name('env').name('memory').byte(0x02).byte(0x00).u32(1);
    for (const f of this.image.importedFuncs) importSec.name(f.module).name(f.name).byte(0x00).u32(f.type);
    return importSec;
  }

  private functionSection(newTypes: number[]): Bytes {
    const funcSec = new Bytes().u32(this.kept.length + this.input.functions.length);
    for (const old of this.kept) funcSec.u32(this.image.funcTypes[old - this.imported]!);
    for (const t of newTypes) funcSec.u32(t);
    return funcSec;
  }

  private globalSection(): Bytes {
    const globals = splitVec(this.image.sections.get(6));
    const globalSec = new Bytes().u32(globals.count + this.input.globals.length).bytes(globals.rest);
    for (const g of this.input.globals) globalSec.byte(I32).byte(g.mutable ? 1 : 0).byte(0x41).i32(g.init).byte(0x0b);
    return globalSec;
  }

  private exportSection(): Bytes {
    const exportSec = new Bytes().u32(this.input.exportFuncs.length + this.input.exportGlobals.length);
    for (const [name, fn] of this.input.exportFuncs) exportSec.name(name).byte(0x00).u32(this.func(fn));
    for (const [name, g] of this.input.exportGlobals) exportSec.name(name).byte(0x03).u32(this.global(g));
    return exportSec;
  }

  /** The runtime's element segments, renumbered, then the policy's table entries after them. */
  private elementSection(): Bytes {
    const { image, input } = this;
    const elem = new Bytes().u32(image.elements.length + (input.table.length > 0 ? 1 : 0));
    for (const seg of image.elements) {
      elem.u32(0).byte(0x41).i32(seg.offset).byte(0x0b).u32(seg.funcs.length);
      for (const f of seg.funcs) elem.u32(this.renumber(f));
    }
    if (input.table.length > 0) {
      elem.u32(0).byte(0x41).i32(image.tableSize).byte(0x0b).u32(input.table.length);
      for (const name of input.table) elem.u32(this.func(name));
    }
    return elem;
  }

  /** The kept runtime bodies (with their calls renumbered), then the policy's. */
  private codeSection(bodies: Bytes[]): Bytes {
    const codeSec = new Bytes().u32(this.kept.length + bodies.length);
    for (const old of this.kept) {
      const i = old - this.imported;
      const refs = this.image.refs[i];
      if (refs && refs.length > 0) {
        const body = renumberBody(this.image.bodies[i]!, refs, (f) => this.renumber(f));
        codeSec.u32(body.length).append(body);
      } else codeSec.vec(this.image.bodies[i]!);
    }
    for (const body of bodies) codeSec.u32(body.length).append(body);
    return codeSec;
  }
}
