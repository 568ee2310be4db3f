/**
 * The order OPA's test harness sorts JSON values in when a case asks for
 * `sort_bindings`: null < booleans < numbers < strings < arrays < objects;
 * arrays element by element, then by length; objects by their sorted keys
 * and the values under them, then by size.
 */
function rank(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number' || typeof v === 'bigint') return 2;
  if (typeof v === 'string') return 3;
  if (Array.isArray(v)) return 4;
  return 5;
}

export function compareJson(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a ? 1 : -1;
    case 2:
      return Number(a) === Number(b) ? 0 : Number(a) < Number(b) ? -1 : 1;
    case 3:
      // Byte order of the UTF-8 text, as Go compares strings.
      return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string));
    case 4: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareJson(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
    }
    default: {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const xk = Object.keys(x).sort((p, q) => compareJson(p, q));
      const yk = Object.keys(y).sort((p, q) => compareJson(p, q));
      for (let i = 0; i < Math.min(xk.length, yk.length); i++) {
        const k = compareJson(xk[i], yk[i]);
        if (k !== 0) return k;
        const c = compareJson(x[xk[i]!], y[yk[i]!]);
        if (c !== 0) return c;
      }
      return xk.length === yk.length ? 0 : xk.length < yk.length ? -1 : 1;
    }
  }
}

/** A binding row with every array value sorted, as the harness sorts each binding (one level deep). */
export function sortBindingValues(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort(compareJson) : v]));
}
