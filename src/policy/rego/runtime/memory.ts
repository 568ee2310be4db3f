// Raw bump allocator over the memory the SDK imports. Nothing is ever freed:
// the SDK resets the heap pointer before every evaluation, which releases all
// the values an evaluation made at once. No managed AssemblyScript object is
// created at run time, so AssemblyScript's own allocator never runs.

import { fatal } from './abort';

let heapPtr: usize = 0;

/** Sets the first free address (called once by the policy's start function). */
export function heapInit(base: usize): void {
  heapPtr = (base + 7) & ~(<usize>7);
}

export function heapGet(): usize {
  return heapPtr;
}

export function heapSet(ptr: usize): void {
  heapPtr = ptr;
}

/** Makes sure memory reaches `end`, growing it by whole pages. */
export function ensureMemory(end: usize): void {
  const have = (<usize>memory.size()) << 16;
  if (end <= have) return;
  const pages = <i32>((end - have + 0xffff) >> 16);
  if (memory.grow(pages) < 0) fatal('out of memory');
}

/** Allocates `size` bytes, 8-byte aligned, not zeroed. */
export function alloc(size: usize): usize {
  const p = heapPtr;
  const end = (p + size + 7) & ~(<usize>7);
  ensureMemory(end);
  heapPtr = end;
  return p;
}

/** Allocates `size` zeroed bytes. */
export function allocZero(size: usize): usize {
  const p = alloc(size);
  memory.fill(p, 0, size);
  return p;
}

/** Copies `len` bytes into a fresh allocation. */
export function copyBytes(src: usize, len: usize): usize {
  const p = alloc(len);
  memory.copy(p, src, len);
  return p;
}

/** Grows an allocation: extends it in place when it is the last one. */
export function grow(ptr: usize, oldSize: usize, newSize: usize): usize {
  if (ptr + ((oldSize + 7) & ~(<usize>7)) == heapPtr) {
    const end = (ptr + newSize + 7) & ~(<usize>7);
    ensureMemory(end);
    heapPtr = end;
    return ptr;
  }
  const p = alloc(newSize);
  memory.copy(p, ptr, oldSize);
  return p;
}
