/**
 * RFC 6902 JSON Patch, as the API server applies a mutating webhook's patch:
 * tests apply what the injector returns to a pod and look at the result,
 * without an API server in the loop.
 */

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: unknown;
  from?: string;
}

export class PatchError extends Error {}

function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function parentOf(doc: unknown, path: string): { parent: Container; key: string } {
  const parts = tokens(path);
  if (parts.length === 0) throw new PatchError('the root cannot be patched in place');
  let cur: unknown = doc;
  for (const t of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (cur && typeof cur === 'object') cur = (cur as Record<string, unknown>)[t];
    else cur = undefined;
    if (cur === undefined || cur === null || typeof cur !== 'object') {
      throw new PatchError(`path "${path}": parent does not exist`);
    }
  }
  return { parent: cur as Container, key: parts[parts.length - 1]! };
}

function get(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const t of tokens(path)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (cur && typeof cur === 'object') cur = (cur as Record<string, unknown>)[t];
    else return undefined;
  }
  return cur;
}

function arrayIndex(arr: unknown[], key: string, forAdd: boolean): number {
  if (forAdd && key === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw new PatchError(`invalid array index "${key}"`);
  const i = Number(key);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index ${i} out of range`);
  return i;
}

function add(doc: unknown, path: string, value: unknown): void {
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else parent[key] = value;
}

function remove(doc: unknown, path: string): unknown {
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false), 1)[0];
  if (!(key in parent)) throw new PatchError(`path "${path}" does not exist`);
  const old = parent[key];
  delete parent[key];
  return old;
}

/** Applies a JSON Patch to a copy of `doc`; throws PatchError as the API server answers 422. */
export function applyJsonPatch<T>(doc: T, ops: JsonPatchOp[]): T {
  const out = structuredClone(doc) as unknown;
  for (const op of ops) {
    switch (op.op) {
      case 'add':
        add(out, op.path, structuredClone(op.value));
        break;
      case 'remove':
        remove(out, op.path);
        break;
      case 'replace':
        remove(out, op.path);
        add(out, op.path, structuredClone(op.value));
        break;
      case 'test':
        if (JSON.stringify(get(out, op.path)) !== JSON.stringify(op.value)) throw new PatchError(`test failed at "${op.path}"`);
        break;
      case 'move':
        add(out, op.path, remove(out, op.from!));
        break;
      case 'copy':
        add(out, op.path, structuredClone(get(out, op.from!)));
        break;
      default:
        throw new PatchError(`unknown op ${(op as { op: string }).op}`);
    }
  }
  return out as T;
}
