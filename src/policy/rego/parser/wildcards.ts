/**
 * Copies of AST fragments whose wildcards get fresh names. An `else` link or
 * a repeated function head reuses the first head's arguments, and each `_`
 * there must stay distinct from the ones it was copied from, as OPA does.
 */
export function cloneWithFreshWildcards<T>(node: T, fresh: () => string): T {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (x === null || typeof x !== 'object') return x;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = k === 'loc' ? v : walk(v);
    if (out['type'] === 'var' && out['wildcard'] === true) out['name'] = fresh();
    return out;
  };
  return walk(node) as T;
}
