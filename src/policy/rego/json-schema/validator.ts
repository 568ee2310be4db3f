/**
 * Validation of a document against a checked schema, with OPA's error
 * types, messages and field paths (`(Root)`, `a.b.0`).
 */
import { resolveRef } from './check-schema.ts';
import { regex } from './re2-pattern.ts';
import { isObject, type Json, type Schema, type SchemaObject } from './schema-types.ts';

export interface SchemaError {
  error: string;
  desc: string;
  field: string;
  type: string;
}

type Path = (string | number)[];

function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function fieldOf(path: Path): string {
  return path.length === 0 ? '(Root)' : path.join('.');
}

/** Go's %v of a number in a message: integers without a point, others shortest. */
function num(n: number): string {
  return String(n);
}

function marshal(v: Json): string {
  return JSON.stringify(v);
}

function equalJson(a: Json, b: Json): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equalJson(x, b[i]!));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equalJson(a[k]!, b[k]!));
  }
  return a === b;
}

/** Exactly whether a is a multiple of b, on their decimal texts (0.3 is a multiple of 0.1). */
function isMultiple(a: number, b: number): boolean {
  const parse = (n: number): [bigint, number] => {
    const [mant, exp = '0'] = String(n).toLowerCase().split('e');
    const [int, frac = ''] = mant!.replace('-', '').split('.');
    return [BigInt(int! + frac), Number(exp) - frac.length];
  };
  const [ma, ea] = parse(a);
  const [mb, eb] = parse(b);
  const e = Math.min(ea, eb);
  const sa = ma * 10n ** BigInt(ea - e);
  const sb = mb * 10n ** BigInt(eb - e);
  return sb !== 0n && sa % sb === 0n;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** The first pair of equal items, if any. */
function firstDuplicate(v: Json[]): [number, number] | undefined {
  for (let i = 0; i < v.length; i++) {
    const j = v.findIndex((x, k) => k > i && equalJson(v[i]!, x));
    if (j >= 0) return [i, j];
  }
  return undefined;
}

/** The validator's keyword checks, each giving its errors, in the order their errors are listed. */
const KEYWORD_VALIDATIONS = ['anyOf', 'oneOf', 'allOf', 'not', 'dependencies', 'conditional', 'enumAndConst', 'byKind'] as const;

export class Validator {
  constructor(private readonly root: Schema) {}

  private err(path: Path, type: string, desc: string): SchemaError {
    const field = fieldOf(path);
    return { error: `${field}: ${desc}`, desc, field, type };
  }

  validate(schema: Schema, v: Json, path: Path): SchemaError[] {
    if (schema === true) return [];
    if (schema === false) return [this.err(path, 'false', 'False always fails validation')];
    const s = schema;
    if ('$ref' in s) return this.validate(resolveRef(this.root as Json, s.$ref) as Schema, v, path);
    const wrongType = this.typeError(s, v, path);
    if (wrongType !== undefined) return [wrongType];
    return KEYWORD_VALIDATIONS.flatMap((check) => this[check](s, v, path));
  }

  private typeError(s: SchemaObject, v: Json, path: Path): SchemaError | undefined {
    if (!('type' in s)) return undefined;
    const types = typeof s.type === 'string' ? [s.type] : (s.type as string[]);
    const given = typeOf(v);
    if (types.some((t) => t === given || (t === 'number' && given === 'integer'))) return undefined;
    const expected = types.length === 1 ? types[0]! : `[${types.join(',')}]`;
    return this.err(path, 'invalid_type', `Invalid type. Expected: ${expected}, given: ${given}`);
  }

  private enumAndConst(s: SchemaObject, v: Json, path: Path): SchemaError[] {
    const out: SchemaError[] = [];
    if ('enum' in s && !(s.enum as Json[]).some((e) => equalJson(e, v))) {
      out.push(this.err(path, 'enum', `${fieldOf(path)} must be one of the following: ${(s.enum as Json[]).map(marshal).join(', ')}`));
    }
    if ('const' in s && !equalJson(s.const as Json, v)) out.push(this.err(path, 'const', `${fieldOf(path)} does not match: ${marshal(s.const as Json)}`));
    return out;
  }

  /** The keywords of the value's own kind. */
  private byKind(s: SchemaObject, v: Json, path: Path): SchemaError[] {
    if (Array.isArray(v)) return this.array(s, v, path);
    if (isObject(v)) return this.object(s, v, path);
    if (typeof v === 'string') return this.string(s, v, path);
    if (typeof v === 'number') return this.number(s, v, path);
    return [];
  }

  private ok(schema: Schema, v: Json, path: Path): boolean {
    return this.validate(schema, v, path).length === 0;
  }

  /**
   * The errors of the subschema that came closest, for combinators that
   * report why: one whose type fits beats one whose type does not, then
   * fewer errors; the first of equals.
   */
  private best(schemas: Schema[], v: Json, path: Path): SchemaError[] {
    const field = fieldOf(path);
    const rank = (e: SchemaError[]): number => (e.some((x) => x.type === 'invalid_type' && x.field === field) ? 1e9 : 0) + e.length;
    let best: SchemaError[] | undefined;
    for (const sub of schemas) {
      const e = this.validate(sub, v, path);
      if (!best || rank(e) < rank(best)) best = e;
    }
    return best ?? [];
  }

  private anyOf(s: SchemaObject, v: Json, path: Path): SchemaError[] {
    if (!Array.isArray(s.anyOf)) return [];
    const subs = s.anyOf as Schema[];
    if (subs.some((sub) => this.ok(sub, v, path))) return [];
    return [this.err(path, 'number_any_of', 'Must validate at least one schema (anyOf)'), ...this.best(subs, v, path)];
  }

  private oneOf(s: SchemaObject, v: Json, path: Path): SchemaError[] {
    if (!Array.isArray(s.oneOf)) return [];
    const subs = s.oneOf as Schema[];
    const valid = subs.filter((sub) => this.ok(sub, v, path)).length;
    if (valid === 1) return [];
    const out = [this.err(path, 'number_one_of', 'Must validate one and only one schema (oneOf)')];
    if (valid === 0) out.push(...this.best(subs, v, path));
    return out;
  }

  private allOf(s: SchemaObject, v: Json, path: Path): SchemaError[] {
    if (!Array.isArray(s.allOf)) return [];
    const out = (s.allOf as Schema[]).flatMap((sub) => this.validate(sub, v, path));
    if (out.length > 0) out.push(this.err(path, 'number_all_of', 'Must validate all the schemas (allOf)'));
    return out;
  }

  private not(s: SchemaObject, v: Json, path: Path): SchemaError[] {
    if (!('not' in s) || !this.ok(s.not as Schema, v, path)) return [];
    return [this.err(path, 'number_not', 'Must not validate the schema (not)')];
  }

  /** Present keys with dependencies: the keys they need, or the schema they must also match. */
  private dependencies(s: SchemaObject, v: Json, path: Path): SchemaError[] {
    if (!isObject(s.dependencies) || !isObject(v)) return [];
    const out: SchemaError[] = [];
    for (const [key, dep] of Object.entries(s.dependencies)) {
      if (!(key in v)) continue;
      if (!Array.isArray(dep)) {
        out.push(...this.validate(dep as Schema, v, path));
        continue;
      }
      for (const d of dep) if (typeof d === 'string' && !(d in v)) out.push(this.err(path, 'missing_dependency', `Has a dependency on ${d}`));
    }
    return out;
  }

  /** `if`, then `then` or `else`. */
  private conditional(s: SchemaObject, v: Json, path: Path): SchemaError[] {
    if (!('if' in s)) return [];
    const holds = this.ok(s.if as Schema, v, path);
    const branch = holds ? 'then' : 'else';
    if (!(branch in s)) return [];
    const e = this.validate(s[branch] as Schema, v, path);
    if (e.length === 0) return [];
    const desc = holds ? 'Must validate "then" as "if" was valid' : 'Must validate "else" as "if" was not valid';
    return [this.err(path, `condition_${branch}`, desc), ...e];
  }

  private array(s: SchemaObject, v: Json[], path: Path): SchemaError[] {
    const out = this.items(s, v, path);
    if (typeof s.minItems === 'number' && v.length < s.minItems) out.push(this.err(path, 'array_min_items', `Array must have at least ${s.minItems} items`));
    if (typeof s.maxItems === 'number' && v.length > s.maxItems) out.push(this.err(path, 'array_max_items', `Array must have at most ${s.maxItems} items`));
    const duplicate = s.uniqueItems === true ? firstDuplicate(v) : undefined;
    if (duplicate) out.push(this.err(path, 'unique', `array items[${duplicate[0]},${duplicate[1]}] must be unique`));
    out.push(...this.contains(s, v, path));
    return out;
  }

  /** `items` (one schema, or one per position with `additionalItems` for the rest). */
  private items(s: SchemaObject, v: Json[], path: Path): SchemaError[] {
    if (!Array.isArray(s.items)) {
      if (s.items === undefined) return [];
      return v.flatMap((x, i) => this.validate(s.items as Schema, x, [...path, i]));
    }
    const items = s.items as Schema[];
    const rest = s.additionalItems;
    const out = v.flatMap((x, i) => {
      if (i < items.length) return this.validate(items[i]!, x, [...path, i]);
      return rest === false || rest === undefined ? [] : this.validate(rest as Schema, x, [...path, i]);
    });
    if (rest === false && v.length > items.length) out.push(this.err(path, 'array_no_additional_items', 'No additional items allowed on array'));
    return out;
  }

  /** `contains`: when no item matches, the errors of the one that came closest. */
  private contains(s: SchemaObject, v: Json[], path: Path): SchemaError[] {
    if (!('contains' in s)) return [];
    const results = v.map((x, i) => this.validate(s.contains as Schema, x, [...path, i]));
    if (results.some((e) => e.length === 0)) return [];
    let best: SchemaError[] | undefined;
    for (const e of results) if (!best || e.length < best.length) best = e;
    return [this.err(path, 'contains', 'At least one of the items must match'), ...(best ?? [])];
  }

  private object(s: SchemaObject, v: SchemaObject, path: Path): SchemaError[] {
    const out: SchemaError[] = [];
    const n = Object.keys(v).length;
    if (typeof s.minProperties === 'number' && n < s.minProperties) out.push(this.err(path, 'array_min_properties', `Must have at least ${s.minProperties} properties`));
    if (typeof s.maxProperties === 'number' && n > s.maxProperties) out.push(this.err(path, 'array_max_properties', `Must have at most ${s.maxProperties} properties`));
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in v)) out.push(this.err(path, 'required', `${r} is required`));
    for (const [key, value] of Object.entries(v)) out.push(...this.property(s, [key, value], path));
    out.push(...this.propertyNames(s, v, path));
    return out;
  }

  /** One property: the schemas of its name and of the patterns it matches, else `additionalProperties`. */
  private property(s: SchemaObject, [key, value]: [string, Json], path: Path): SchemaError[] {
    const props = isObject(s.properties) ? s.properties : {};
    const patterns = isObject(s.patternProperties) ? Object.entries(s.patternProperties) : [];
    const schemas = key in props ? [props[key] as Schema] : [];
    for (const [p, sub] of patterns) if (regex(p).test(key)) schemas.push(sub as Schema);
    const extra = s.additionalProperties;
    if (schemas.length === 0 && extra === false) return [this.err(path, 'additional_property_not_allowed', `Additional property ${key} is not allowed`)];
    if (schemas.length === 0 && extra !== undefined) schemas.push(extra as Schema);
    return schemas.flatMap((sub) => this.validate(sub, value, [...path, key]));
  }

  private propertyNames(s: SchemaObject, v: SchemaObject, path: Path): SchemaError[] {
    if (!('propertyNames' in s)) return [];
    return Object.keys(v).flatMap((key) => {
      const e = this.validate(s.propertyNames as Schema, key, path);
      return e.length === 0 ? [] : [this.err(path, 'invalid_property_name', `Property name of "${key}" does not match`), ...e];
    });
  }

  private string(s: SchemaObject, v: string, path: Path): SchemaError[] {
    const out: SchemaError[] = [];
    const len = codePoints(v);
    if (typeof s.minLength === 'number' && len < s.minLength) out.push(this.err(path, 'string_gte', `String length must be greater than or equal to ${s.minLength}`));
    if (typeof s.maxLength === 'number' && len > s.maxLength) out.push(this.err(path, 'string_lte', `String length must be less than or equal to ${s.maxLength}`));
    if (typeof s.pattern === 'string' && !regex(s.pattern).test(v)) out.push(this.err(path, 'pattern', `Does not match pattern '${s.pattern}'`));
    return out;
  }

  private number(s: SchemaObject, v: number, path: Path): SchemaError[] {
    const out: SchemaError[] = [];
    if (typeof s.multipleOf === 'number' && !isMultiple(v, s.multipleOf)) out.push(this.err(path, 'multiple_of', `Must be a multiple of ${num(s.multipleOf)}`));
    out.push(...this.upperBound(s, v, path), ...this.lowerBound(s, v, path));
    return out;
  }

  /** `maximum` (exclusive when `exclusiveMaximum` is true, draft 4) and a numeric `exclusiveMaximum`. */
  private upperBound(s: SchemaObject, v: number, path: Path): SchemaError[] {
    const out: SchemaError[] = [];
    const exclusive = s.exclusiveMaximum === true;
    if (typeof s.maximum === 'number' && (exclusive ? v >= s.maximum : v > s.maximum)) {
      out.push(exclusive ? this.err(path, 'number_lt', `Must be less than ${num(s.maximum)}`) : this.err(path, 'number_lte', `Must be less than or equal to ${num(s.maximum)}`));
    }
    if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) out.push(this.err(path, 'number_lt', `Must be less than ${num(s.exclusiveMaximum)}`));
    return out;
  }

  /** `minimum` (exclusive when `exclusiveMinimum` is true, draft 4) and a numeric `exclusiveMinimum`. */
  private lowerBound(s: SchemaObject, v: number, path: Path): SchemaError[] {
    const out: SchemaError[] = [];
    const exclusive = s.exclusiveMinimum === true;
    if (typeof s.minimum === 'number' && (exclusive ? v <= s.minimum : v < s.minimum)) {
      out.push(exclusive ? this.err(path, 'number_gt', `Must be greater than ${num(s.minimum)}`) : this.err(path, 'number_gte', `Must be greater than or equal to ${num(s.minimum)}`));
    }
    if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) out.push(this.err(path, 'number_gt', `Must be greater than ${num(s.exclusiveMinimum)}`));
    return out;
  }
}
