/**
 * Which runtime functions a policy reaches: from the runtime functions the
 * policy's code and exports name, the runtime's start function and table,
 * through the runtime's own calls. The linker keeps only those.
 */
import type { Expr } from './builder.ts';
import type { RuntimeImage } from './runtime-image.ts';
import { Bytes } from './encode.ts';

/** Names called anywhere in an expression. */
export function calledNames(e: Expr, into: Set<string>): void {
  if (e.op === 'call') into.add(e.fn);
  const inner = SUB_EXPRS[e.op] as ((e: Expr) => ReadonlyArray<Expr | undefined>) | undefined;
  for (const sub of inner?.(e) ?? []) if (sub) calledNames(sub, into);
}

/** The expressions directly inside each kind of instruction (none for the others). */
const SUB_EXPRS: { [K in Expr['op']]?: (e: Extract<Expr, { op: K }>) => ReadonlyArray<Expr | undefined> } = {
  call: (e) => e.args,
  block: (e) => e.children,
  loop: (e) => [e.body],
  try: (e) => [e.body, e.handler],
  if: (e) => [e.cond, e.then, e.else],
  call_indirect: (e) => [e.target, ...e.args],
  br: (e) => [e.cond],
  'local.set': (e) => [e.value],
  'local.tee': (e) => [e.value],
  'global.set': (e) => [e.value],
  unary: (e) => [e.value],
  drop: (e) => [e.value],
  binary: (e) => [e.a, e.b],
  load: (e) => [e.ptr],
  store: (e) => [e.ptr, e.value],
  select: (e) => [e.cond, e.a, e.b],
  return: (e) => [e.value],
  'memory.grow': (e) => [e.pages],
  'memory.init': (e) => [e.dest, e.src, e.len],
};

/**
 * The defined runtime functions to keep (old function indices, ascending),
 * given the function indices used from outside; every function when a body
 * could not be scanned.
 */
export function reachableFunctions(image: RuntimeImage, roots: Iterable<number>): number[] {
  const imported = image.importedFuncs.length;
  const all = image.bodies.map((_, i) => imported + i);
  if (image.refs.some((r) => r === null)) return all;
  const seen = new Set<number>();
  const stack: number[] = [...roots];
  if (image.startFunc !== null) stack.push(image.startFunc);
  for (const e of image.elements) stack.push(...e.funcs);
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (f < imported) continue;
    for (const ref of image.refs[f - imported] ?? []) stack.push(ref.func);
  }
  return all.filter((f) => seen.has(f));
}

/** A body with its function references renumbered (slices of the original between them). */
export function renumberBody(body: Uint8Array, refs: { at: number; len: number; func: number }[], remap: (old: number) => number): Bytes {
  const out = new Bytes();
  let from = 0;
  for (const ref of refs) {
    out.bytes(body.subarray(from, ref.at)).u32(remap(ref.func));
    from = ref.at + ref.len;
  }
  return out.bytes(body.subarray(from));
}
