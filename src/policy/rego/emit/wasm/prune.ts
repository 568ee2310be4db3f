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
  switch (e.op) {
    case 'call':
      into.add(e.fn);
      for (const a of e.args) calledNames(a, into);
      return;
    case 'block':
      for (const c of e.children) calledNames(c, into);
      return;
    case 'loop':
      calledNames(e.body, into);
      return;
    case 'try':
      calledNames(e.body, into);
      calledNames(e.handler, into);
      return;
    case 'if':
      calledNames(e.cond, into);
      calledNames(e.then, into);
      if (e.else) calledNames(e.else, into);
      return;
    case 'call_indirect':
      calledNames(e.target, into);
      for (const a of e.args) calledNames(a, into);
      return;
    case 'br':
      if (e.cond) calledNames(e.cond, into);
      return;
    case 'local.set':
    case 'local.tee':
    case 'global.set':
    case 'unary':
    case 'drop':
      calledNames(e.value, into);
      return;
    case 'binary':
      calledNames(e.a, into);
      calledNames(e.b, into);
      return;
    case 'load':
      calledNames(e.ptr, into);
      return;
    case 'store':
      calledNames(e.ptr, into);
      calledNames(e.value, into);
      return;
    case 'select':
      calledNames(e.cond, into);
      calledNames(e.a, into);
      calledNames(e.b, into);
      return;
    case 'return':
      if (e.value) calledNames(e.value, into);
      return;
    case 'memory.grow':
      calledNames(e.pages, into);
      return;
    case 'memory.init':
      calledNames(e.dest, into);
      calledNames(e.src, into);
      calledNames(e.len, into);
      return;
    default:
      return;
  }
}

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
