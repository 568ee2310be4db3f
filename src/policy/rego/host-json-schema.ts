/**
 * json.match_schema(document, schema) and json.verify_schema(schema), run by
 * the host: JSON Schema (draft 4, 6 and 7 keywords, as OPA's validator
 * accepts them side by side) with OPA's output shapes — `[true, []]` or
 * `[false, [{error, desc, field, type}]]` for a match, `[true, null]` or
 * `[false, "jsonschema: …"]` for a verification. Messages, error types and
 * field paths are OPA's (`(Root)`, `a.b.0`); OPA's order of several errors
 * follows Go's map iteration and is not stable, so only the set of errors
 * is meant to agree. `pattern` is RE2 in OPA: a pattern using what RE2 does
 * not have (lookaround, back-references) is invalid, and one JavaScript
 * cannot read the same way is refused with an error naming it, as is
 * `format` and any `$ref` outside the schema itself — never a guess.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = boolean | { [k: string]: Json };

export interface SchemaError {
  error: string;
  desc: string;
  field: string;
  type: string;
}

/** A schema OPA's validator rejects: verify_schema reports it, match_schema raises it. */
class InvalidSchema extends Error {}

function builtinError(builtin: string, message: string): Error {
  return new Error(`eval_builtin_error: ${builtin}: ${message}`);
}

/** A string argument is JSON text; anything else is the value itself. */
function argument(builtin: string, v: unknown): Json {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') throw builtinError(builtin, 'wrong type, expected string or object');
  if (typeof v !== 'string') return v as Json;
  try {
    return JSON.parse(v) as Json;
  } catch {
    throw builtinError(builtin, 'invalid JSON string');
  }
}

export function verifySchema(schema: unknown): [boolean, string | null] {
  let s: Json;
  try {
    s = argument('json.verify_schema', schema);
  } catch {
    return [false, 'jsonschema: invalid JSON string'];
  }
  try {
    checkSchema(s, s);
    return [true, null];
  } catch (e) {
    if (e instanceof InvalidSchema) return [false, `jsonschema: ${e.message}`];
    if (e instanceof UnsupportedSchema) throw builtinError('json.verify_schema', e.message);
    throw e;
  }
}

export function matchSchema(document: unknown, schema: unknown): [boolean, SchemaError[]] {
  const builtin = 'json.match_schema';
  const doc = argument(builtin, document);
  const s = argument(builtin, schema);
  try {
    checkSchema(s, s);
    const errors = new Validator(s as Schema).validate(s as Schema, doc, []);
    return [errors.length === 0, errors];
  } catch (e) {
    if (e instanceof InvalidSchema || e instanceof UnsupportedSchema) throw builtinError(builtin, e.message);
    throw e;
  }
}

// ---- the schema itself ------------------------------------------------------

const TYPES = ['array', 'boolean', 'integer', 'number', 'null', 'object', 'string'];
const NON_NEGATIVE = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'];
const NUMBERS = ['minimum', 'maximum', 'multipleOf'];

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkSchema(s: Json, root: Json): void {
  if (typeof s === 'boolean') return;
  if (s === root && Array.isArray(s)) throw new InvalidSchema('schema is invalid');
  if (!isObject(s)) throw new InvalidSchema('Expected: Valid Schema, given: Invalid JSON');
  if ('format' in s) throw unsupported('the format keyword');
  if ('type' in s) {
    const t = s.type;
    const names = typeof t === 'string' ? [t] : Array.isArray(t) && t.every((x) => typeof x === 'string') ? (t as string[]) : undefined;
    if (!names) throw new InvalidSchema('Invalid type. Expected: type, given: string/Array Of Strings');
    for (const n of names) {
      if (!TYPES.includes(n)) throw new InvalidSchema(`has a primitive type that is NOT VALID -- given: /${n}/ Expected valid values are:[${TYPES.join(' ')}]`);
    }
  }
  for (const k of NON_NEGATIVE) {
    if (!(k in s)) continue;
    const v = s[k];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidSchema(`${k} must be of an integer`);
    if (v < 0) throw new InvalidSchema(`${k} must be greater than or equal to 0`);
  }
  for (const [min, max] of [['minLength', 'maxLength'], ['minItems', 'maxItems'], ['minProperties', 'maxProperties']] as const) {
    if (typeof s[min] === 'number' && typeof s[max] === 'number' && (s[min] as number) > (s[max] as number)) {
      throw new InvalidSchema(`${min} cannot be greater than ${max}`);
    }
  }
  for (const k of NUMBERS) if (k in s && typeof s[k] !== 'number') throw new InvalidSchema(`${k} must be of a Number`);
  for (const k of ['exclusiveMinimum', 'exclusiveMaximum']) {
    if (k in s && typeof s[k] !== 'number' && typeof s[k] !== 'boolean') throw new InvalidSchema(`${k} must be of a Number`);
  }
  if (typeof s.multipleOf === 'number' && s.multipleOf <= 0) throw new InvalidSchema('multipleOf must be strictly greater than 0');
  if ('required' in s) {
    if (!Array.isArray(s.required)) throw new InvalidSchema('required must be of an array');
    if (!s.required.every((x) => typeof x === 'string')) throw new InvalidSchema('Invalid type. Expected: string, given: required');
  }
  if ('enum' in s && !Array.isArray(s.enum)) throw new InvalidSchema('enum must be of an array');
  if ('pattern' in s) {
    if (typeof s.pattern !== 'string') throw new InvalidSchema('pattern must be of a string');
    regex(s.pattern);
  }
  for (const k of ['properties', 'patternProperties']) {
    if (!(k in s)) continue;
    const props = s[k];
    if (!isObject(props)) throw new InvalidSchema(`${k} must be of an object`);
    for (const [name, sub] of Object.entries(props)) {
      if (k === 'patternProperties') {
        try {
          regex(name);
        } catch (e) {
          if (e instanceof InvalidSchema) throw new InvalidSchema(`Invalid regex pattern '${name}'`);
          throw e;
        }
      }
      checkSchema(sub, root);
    }
  }
  for (const k of ['additionalProperties', 'additionalItems']) {
    if (!(k in s)) continue;
    if (!isObject(s[k]) && typeof s[k] !== 'boolean') throw new InvalidSchema(`Invalid type. Expected: boolean/Valid Schema, given: ${k}`);
    checkSchema(s[k] as Json, root);
  }
  for (const k of ['propertyNames', 'contains', 'not', 'if', 'then', 'else']) {
    if (!(k in s)) continue;
    if (!isObject(s[k]) && typeof s[k] !== 'boolean') throw unsupported(`a ${k} that is not a schema`);
    checkSchema(s[k] as Json, root);
  }
  if ('items' in s) {
    const items = s.items;
    if (Array.isArray(items)) items.forEach((i) => checkSchema(i, root));
    else if (isObject(items) || typeof items === 'boolean') checkSchema(items, root);
    else throw new InvalidSchema('Invalid type. Expected: Valid Schema/Array Of Schemas, given: items');
  }
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    if (!(k in s)) continue;
    const list = s[k];
    if (!Array.isArray(list)) throw new InvalidSchema(`${k} must be of an array`);
    list.forEach((i) => checkSchema(i, root));
  }
  if ('dependencies' in s) {
    const deps = s.dependencies;
    if (!isObject(deps)) throw new InvalidSchema('dependencies must be of an object');
    for (const d of Object.values(deps)) {
      if (Array.isArray(d)) {
        if (!d.every((x) => typeof x === 'string')) throw new InvalidSchema('Dependency must be of type Schema Or Array Of Strings');
      } else if (isObject(d) || typeof d === 'boolean') checkSchema(d, root);
      else throw new InvalidSchema('Dependency must be of type Schema Or Array Of Strings');
    }
  }
  for (const k of ['definitions', '$defs']) {
    if (k in s && isObject(s[k])) for (const d of Object.values(s[k] as object)) checkSchema(d as Json, root);
  }
  // Other keywords (annotations, extensions) are ignored, as OPA's validator does.
  if ('$ref' in s) resolveRef(root, s.$ref);
}

/** Something the schema uses that this validator does not implement: refused, never guessed. */
class UnsupportedSchema extends Error {}

function unsupported(what: string): Error {
  return new UnsupportedSchema(`${what} is not supported by Portcullis's JSON Schema validator`);
}

/** A `$ref` within the schema: `#` or a JSON pointer from it. */
function resolveRef(root: Json, ref: Json): Json {
  if (typeof ref !== 'string' || !ref.startsWith('#')) throw unsupported(`$ref ${JSON.stringify(ref)} (only references within the schema are)`);
  let at: Json = root;
  const pointer = ref.slice(1);
  if (pointer === '') return at;
  if (!pointer.startsWith('/')) throw unsupported(`$ref ${JSON.stringify(ref)} (only JSON pointers are)`);
  for (const raw of pointer.slice(1).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(at) && /^\d+$/.test(key) && Number(key) < at.length) at = at[Number(key)]!;
    else if (isObject(at) && key in at) at = at[key]!;
    else throw new InvalidSchema(`Object has no key '${key}'`);
  }
  return at;
}

const REGEX_CACHE = new Map<string, RegExp>();

/**
 * A pattern as RE2 reads it, through RegExp: `\s` and `.` narrowed to RE2's
 * (ASCII white space; anything but a newline). Lookaround and
 * back-references do not exist in RE2: invalid, as OPA says. A pattern
 * RegExp cannot take (RE2's own syntax) is refused rather than guessed.
 */
function regex(pattern: string): RegExp {
  const cached = REGEX_CACHE.get(pattern);
  if (cached) return cached;
  if (/\(\?<?[=!]|\\[1-9]/.test(pattern)) throw new InvalidSchema('pattern must be a valid regex');
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1] ?? '';
      i++;
      if (n === 's') out += inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      else if (n === 'S' && !inClass) out += '[^\\t\\n\\f\\r ]';
      else out += `\\${n}`;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (pattern[i + 1] === '^') out += pattern[++i];
      if (pattern[i + 1] === ']') out += pattern[++i];
      continue;
    }
    out += c === '.' ? '[^\\n]' : c;
  }
  if (inClass || !balanced(pattern)) throw new InvalidSchema('pattern must be a valid regex');
  let r: RegExp;
  try {
    r = new RegExp(out, 'u');
  } catch {
    throw unsupported(`the pattern ${JSON.stringify(pattern)}`);
  }
  REGEX_CACHE.set(pattern, r);
  return r;
}

/** Parentheses balance outside classes and escapes, and no escape is cut off: what any regex syntax needs. */
function balanced(pattern: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (++i >= pattern.length) return false;
    } else if (inClass) inClass = c !== ']';
    else if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0 && !inClass;
}

// ---- validation -------------------------------------------------------------

function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function fieldOf(path: (string | number)[]): string {
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

class Validator {
  constructor(private readonly root: Schema) {}

  private err(path: (string | number)[], type: string, desc: string): SchemaError {
    const field = fieldOf(path);
    return { error: `${field}: ${desc}`, desc, field, type };
  }

  validate(schema: Schema, v: Json, path: (string | number)[]): SchemaError[] {
    if (schema === true) return [];
    if (schema === false) return [this.err(path, 'false', 'False always fails validation')];
    const s = schema;
    if ('$ref' in s) return this.validate(resolveRef(this.root as Json, s.$ref) as Schema, v, path);
    const out: SchemaError[] = [];
    if ('type' in s) {
      const types = typeof s.type === 'string' ? [s.type] : (s.type as string[]);
      const given = typeOf(v);
      const ok = types.some((t) => t === given || (t === 'number' && given === 'integer'));
      if (!ok) {
        const expected = types.length === 1 ? types[0]! : `[${types.join(',')}]`;
        return [this.err(path, 'invalid_type', `Invalid type. Expected: ${expected}, given: ${given}`)];
      }
    }
    this.combinators(s, v, path, out);
    if ('enum' in s && !(s.enum as Json[]).some((e) => equalJson(e, v))) {
      const field = fieldOf(path);
      out.push(this.err(path, 'enum', `${field} must be one of the following: ${(s.enum as Json[]).map(marshal).join(', ')}`));
    }
    if ('const' in s && !equalJson(s.const as Json, v)) out.push(this.err(path, 'const', `${fieldOf(path)} does not match: ${marshal(s.const as Json)}`));
    if (Array.isArray(v)) this.array(s, v, path, out);
    else if (isObject(v)) this.object(s, v, path, out);
    else if (typeof v === 'string') this.string(s, v, path, out);
    else if (typeof v === 'number') this.number(s, v, path, out);
    return out;
  }

  /**
   * The errors of the subschema that came closest, for combinators that
   * report why: one whose type fits beats one whose type does not, then
   * fewer errors; the first of equals.
   */
  private best(schemas: Schema[], v: Json, path: (string | number)[]): SchemaError[] {
    const field = fieldOf(path);
    const rank = (e: SchemaError[]): number => (e.some((x) => x.type === 'invalid_type' && x.field === field) ? 1e9 : 0) + e.length;
    let best: SchemaError[] | undefined;
    for (const sub of schemas) {
      const e = this.validate(sub, v, path);
      if (!best || rank(e) < rank(best)) best = e;
    }
    return best ?? [];
  }

  private combinators(s: { [k: string]: Json }, v: Json, path: (string | number)[], out: SchemaError[]): void {
    if (Array.isArray(s.anyOf)) {
      const subs = s.anyOf as Schema[];
      if (!subs.some((sub) => this.validate(sub, v, path).length === 0)) {
        out.push(this.err(path, 'number_any_of', 'Must validate at least one schema (anyOf)'), ...this.best(subs, v, path));
      }
    }
    if (Array.isArray(s.oneOf)) {
      const subs = s.oneOf as Schema[];
      const valid = subs.filter((sub) => this.validate(sub, v, path).length === 0).length;
      if (valid !== 1) {
        out.push(this.err(path, 'number_one_of', 'Must validate one and only one schema (oneOf)'));
        if (valid === 0) out.push(...this.best(subs, v, path));
      }
    }
    if (Array.isArray(s.allOf)) {
      let failed = false;
      for (const sub of s.allOf as Schema[]) {
        const e = this.validate(sub, v, path);
        if (e.length > 0) {
          failed = true;
          out.push(...e);
        }
      }
      if (failed) out.push(this.err(path, 'number_all_of', 'Must validate all the schemas (allOf)'));
    }
    if ('not' in s && this.validate(s.not as Schema, v, path).length === 0) out.push(this.err(path, 'number_not', 'Must not validate the schema (not)'));
    if (isObject(s.dependencies) && isObject(v)) {
      for (const [key, dep] of Object.entries(s.dependencies)) {
        if (!(key in v)) continue;
        if (Array.isArray(dep)) {
          for (const d of dep) if (typeof d === 'string' && !(d in v)) out.push(this.err(path, 'missing_dependency', `Has a dependency on ${d}`));
        } else out.push(...this.validate(dep as Schema, v, path));
      }
    }
    if ('if' in s) {
      if (this.validate(s.if as Schema, v, path).length === 0) {
        if ('then' in s) {
          const e = this.validate(s.then as Schema, v, path);
          if (e.length > 0) out.push(this.err(path, 'condition_then', 'Must validate "then" as "if" was valid'), ...e);
        }
      } else if ('else' in s) {
        const e = this.validate(s.else as Schema, v, path);
        if (e.length > 0) out.push(this.err(path, 'condition_else', 'Must validate "else" as "if" was not valid'), ...e);
      }
    }
  }

  private array(s: { [k: string]: Json }, v: Json[], path: (string | number)[], out: SchemaError[]): void {
    if (Array.isArray(s.items)) {
      const items = s.items as Schema[];
      v.forEach((x, i) => {
        if (i < items.length) out.push(...this.validate(items[i]!, x, [...path, i]));
        else if (s.additionalItems === false) return;
        else if (s.additionalItems !== undefined) out.push(...this.validate(s.additionalItems as Schema, x, [...path, i]));
      });
      if (s.additionalItems === false && v.length > items.length) out.push(this.err(path, 'array_no_additional_items', 'No additional items allowed on array'));
    } else if (s.items !== undefined) {
      v.forEach((x, i) => out.push(...this.validate(s.items as Schema, x, [...path, i])));
    }
    if (typeof s.minItems === 'number' && v.length < s.minItems) out.push(this.err(path, 'array_min_items', `Array must have at least ${s.minItems} items`));
    if (typeof s.maxItems === 'number' && v.length > s.maxItems) out.push(this.err(path, 'array_max_items', `Array must have at most ${s.maxItems} items`));
    if (s.uniqueItems === true) {
      outer: for (let i = 0; i < v.length; i++) {
        for (let j = i + 1; j < v.length; j++) {
          if (equalJson(v[i]!, v[j]!)) {
            out.push(this.err(path, 'unique', `array items[${i},${j}] must be unique`));
            break outer;
          }
        }
      }
    }
    if ('contains' in s) {
      const sub = s.contains as Schema;
      const results = v.map((x, i) => this.validate(sub, x, [...path, i]));
      if (!results.some((e) => e.length === 0)) {
        out.push(this.err(path, 'contains', 'At least one of the items must match'));
        let best: SchemaError[] | undefined;
        for (const e of results) if (!best || e.length < best.length) best = e;
        out.push(...(best ?? []));
      }
    }
  }

  private object(s: { [k: string]: Json }, v: { [k: string]: Json }, path: (string | number)[], out: SchemaError[]): void {
    const n = Object.keys(v).length;
    if (typeof s.minProperties === 'number' && n < s.minProperties) out.push(this.err(path, 'array_min_properties', `Must have at least ${s.minProperties} properties`));
    if (typeof s.maxProperties === 'number' && n > s.maxProperties) out.push(this.err(path, 'array_max_properties', `Must have at most ${s.maxProperties} properties`));
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in v)) out.push(this.err(path, 'required', `${r} is required`));
    const props = isObject(s.properties) ? s.properties : {};
    const patterns = isObject(s.patternProperties) ? Object.entries(s.patternProperties) : [];
    for (const [key, value] of Object.entries(v)) {
      let matched = false;
      if (key in props) {
        matched = true;
        out.push(...this.validate(props[key] as Schema, value, [...path, key]));
      }
      for (const [p, sub] of patterns) {
        if (regex(p).test(key)) {
          matched = true;
          out.push(...this.validate(sub as Schema, value, [...path, key]));
        }
      }
      if (matched || s.additionalProperties === undefined) continue;
      if (s.additionalProperties === false) out.push(this.err(path, 'additional_property_not_allowed', `Additional property ${key} is not allowed`));
      else out.push(...this.validate(s.additionalProperties as Schema, value, [...path, key]));
    }
    if ('propertyNames' in s) {
      for (const key of Object.keys(v)) {
        const e = this.validate(s.propertyNames as Schema, key, path);
        if (e.length > 0) out.push(this.err(path, 'invalid_property_name', `Property name of "${key}" does not match`), ...e);
      }
    }
  }

  private string(s: { [k: string]: Json }, v: string, path: (string | number)[], out: SchemaError[]): void {
    const len = codePoints(v);
    if (typeof s.minLength === 'number' && len < s.minLength) out.push(this.err(path, 'string_gte', `String length must be greater than or equal to ${s.minLength}`));
    if (typeof s.maxLength === 'number' && len > s.maxLength) out.push(this.err(path, 'string_lte', `String length must be less than or equal to ${s.maxLength}`));
    if (typeof s.pattern === 'string' && !regex(s.pattern).test(v)) out.push(this.err(path, 'pattern', `Does not match pattern '${s.pattern}'`));
  }

  private number(s: { [k: string]: Json }, v: number, path: (string | number)[], out: SchemaError[]): void {
    if (typeof s.multipleOf === 'number' && !isMultiple(v, s.multipleOf)) out.push(this.err(path, 'multiple_of', `Must be a multiple of ${num(s.multipleOf)}`));
    if (typeof s.maximum === 'number') {
      if (s.exclusiveMaximum === true ? v >= s.maximum : v > s.maximum) {
        out.push(s.exclusiveMaximum === true ? this.err(path, 'number_lt', `Must be less than ${num(s.maximum)}`) : this.err(path, 'number_lte', `Must be less than or equal to ${num(s.maximum)}`));
      }
    }
    if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) out.push(this.err(path, 'number_lt', `Must be less than ${num(s.exclusiveMaximum)}`));
    if (typeof s.minimum === 'number') {
      if (s.exclusiveMinimum === true ? v <= s.minimum : v < s.minimum) {
        out.push(s.exclusiveMinimum === true ? this.err(path, 'number_gt', `Must be greater than ${num(s.minimum)}`) : this.err(path, 'number_gte', `Must be greater than or equal to ${num(s.minimum)}`));
      }
    }
    if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) out.push(this.err(path, 'number_gt', `Must be greater than ${num(s.exclusiveMinimum)}`));
  }
}
