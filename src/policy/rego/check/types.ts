/**
 * Static types of Rego values, as far as the type check needs them: the
 * scalar kinds, arrays, sets and objects with element types, unions, and
 * `any` for everything not known. Written and printed in OPA's notation
 * (`array[string]`, `object[string: any]`, `any<number, set[any]>`).
 */

export type RegoType =
  | { kind: 'any' }
  | { kind: 'null' | 'boolean' | 'number' | 'string' }
  | { kind: 'array' | 'set'; of: RegoType }
  | { kind: 'object'; key: RegoType; value: RegoType }
  | { kind: 'union'; of: RegoType[] };

export const ANY: RegoType = { kind: 'any' };
export const STRING: RegoType = { kind: 'string' };
export const NUMBER: RegoType = { kind: 'number' };
export const BOOLEAN: RegoType = { kind: 'boolean' };
export const NULL: RegoType = { kind: 'null' };

export function showType(t: RegoType): string {
  switch (t.kind) {
    case 'array':
    case 'set':
      return `${t.kind}[${showType(t.of)}]`;
    case 'object':
      return `object[${showType(t.key)}: ${showType(t.value)}]`;
    case 'union':
      return `any<${t.of.map(showType).join(', ')}>`;
    default:
      return t.kind;
  }
}

/** The union of `types`, flattened and without repeats; `any` absorbs everything. */
export function union(types: RegoType[]): RegoType {
  const seen = new Map<string, RegoType>();
  for (const t of types) {
    for (const m of t.kind === 'union' ? t.of : [t]) {
      if (m.kind === 'any') return ANY;
      seen.set(showType(m), m);
    }
  }
  const all = [...seen.values()];
  if (all.length === 0) return ANY;
  return all.length === 1 ? all[0]! : { kind: 'union', of: all };
}

/**
 * Whether some value could have both types. Only a definite `false` is a
 * type error, so every doubt answers `true`.
 */
export function overlaps(a: RegoType, b: RegoType): boolean {
  if (a.kind === 'any' || b.kind === 'any') return true;
  if (a.kind === 'union') return a.of.some((m) => overlaps(m, b));
  if (b.kind === 'union') return b.of.some((m) => overlaps(a, m));
  if (a.kind !== b.kind) return false;
  return overlapsSameKind(a, b);
}

/** `overlaps` for two types of one kind: collections by their elements, objects by their values. */
function overlapsSameKind(a: RegoType, b: RegoType): boolean {
  if (a.kind === 'array' || a.kind === 'set') return overlaps(a.of, (b as typeof a).of);
  // Object keys are not compared: OPA does not reject literal objects for their key types.
  if (a.kind === 'object') return overlaps(a.value, (b as typeof a).value);
  return true;
}

/** Whether every value of `t` is a scalar (so refs into it are undefined). */
export function isScalar(t: RegoType): boolean {
  if (t.kind === 'union') return t.of.every(isScalar);
  return t.kind === 'null' || t.kind === 'boolean' || t.kind === 'number' || t.kind === 'string';
}

/** The type of `t[k]`: array and set elements, object values; `any` otherwise. */
export function memberType(t: RegoType): RegoType {
  switch (t.kind) {
    case 'array':
    case 'set':
      return t.of;
    case 'object':
      return t.value;
    case 'union':
      return union(t.of.filter((m) => !isScalar(m)).map(memberType));
    default:
      return ANY;
  }
}

/** The type of the keys `k` of `t[k]`: numbers for arrays, elements for sets, keys for objects. */
export function keyType(t: RegoType): RegoType {
  switch (t.kind) {
    case 'array':
      return NUMBER;
    case 'set':
      return t.of;
    case 'object':
      return t.key;
    default:
      return ANY;
  }
}

const SIMPLE_TYPES = new Set(['any', 'null', 'boolean', 'number', 'string']);

/** Parses OPA's type notation, as used by the signature table. */
export function parseType(src: string): RegoType {
  let i = 0;
  const word = (): string => {
    const m = /^[a-z]+/.exec(src.slice(i));
    if (m === null) throw new Error(`bad type ${src} at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const eat = (s: string): void => {
    if (!src.startsWith(s, i)) throw new Error(`bad type ${src}: expected ${s} at ${i}`);
    i += s.length;
  };
  /** `any<t1, t2>`: a union. */
  const anyOf = (): RegoType => {
    eat('<');
    const of = [one()];
    while (src[i] === ',') {
      eat(', ');
      of.push(one());
    }
    eat('>');
    return union(of);
  };
  const collection = (kind: 'array' | 'set'): RegoType => {
    eat('[');
    const of = one();
    eat(']');
    return { kind, of };
  };
  const object = (): RegoType => {
    eat('[');
    const key = one();
    eat(': ');
    const value = one();
    eat(']');
    return { kind: 'object', key, value };
  };
  const one = (): RegoType => {
    const w = word();
    if (w === 'any' && src[i] === '<') return anyOf();
    if (w === 'array' || w === 'set') return collection(w);
    if (w === 'object') return object();
    if (SIMPLE_TYPES.has(w)) return { kind: w } as RegoType;
    throw new Error(`bad type ${src}: unknown ${w}`);
  };
  const t = one();
  if (i !== src.length) throw new Error(`bad type ${src}: trailing text at ${i}`);
  return t;
}
