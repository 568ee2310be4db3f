/**
 * Whether a schema is one OPA's validator accepts, keyword by keyword in a
 * fixed order (the first problem found is the one reported), and `$ref`
 * resolution within the schema.
 */
import { regex } from './re2-pattern.ts';
import { InvalidSchema, isObject, unsupported, type Json, type SchemaObject } from './schema-types.ts';

const TYPES = ['array', 'boolean', 'integer', 'number', 'null', 'object', 'string'];
const NON_NEGATIVE = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'];
const NUMBERS = ['minimum', 'maximum', 'multipleOf'];
const BOUNDS = [['minLength', 'maxLength'], ['minItems', 'maxItems'], ['minProperties', 'maxProperties']] as const;

export function checkSchema(s: Json, root: Json): void {
  if (typeof s === 'boolean') return;
  if (s === root && Array.isArray(s)) throw new InvalidSchema('schema is invalid');
  if (!isObject(s)) throw new InvalidSchema('Expected: Valid Schema, given: Invalid JSON');
  for (const check of KEYWORD_CHECKS) check(s, root);
}

type KeywordCheck = (s: SchemaObject, root: Json) => void;

function isSchema(v: Json | undefined): boolean {
  return isObject(v) || typeof v === 'boolean';
}

function checkType(s: SchemaObject): void {
  if (!('type' in s)) return;
  const t = s.type;
  const names = typeof t === 'string' ? [t] : Array.isArray(t) && t.every((x) => typeof x === 'string') ? (t as string[]) : undefined;
  if (!names) throw new InvalidSchema('Invalid type. Expected: type, given: string/Array Of Strings');
  for (const n of names) {
    if (!TYPES.includes(n)) throw new InvalidSchema(`has a primitive type that is NOT VALID -- given: /${n}/ Expected valid values are:[${TYPES.join(' ')}]`);
  }
}

function checkSizes(s: SchemaObject): void {
  for (const k of NON_NEGATIVE) {
    if (!(k in s)) continue;
    const v = s[k];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidSchema(`${k} must be of an integer`);
    if (v < 0) throw new InvalidSchema(`${k} must be greater than or equal to 0`);
  }
  for (const [min, max] of BOUNDS) {
    const lo = s[min];
    const hi = s[max];
    if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) throw new InvalidSchema(`${min} cannot be greater than ${max}`);
  }
}

function checkNumbers(s: SchemaObject): void {
  for (const k of NUMBERS) if (k in s && typeof s[k] !== 'number') throw new InvalidSchema(`${k} must be of a Number`);
  for (const k of ['exclusiveMinimum', 'exclusiveMaximum']) {
    if (k in s && typeof s[k] !== 'number' && typeof s[k] !== 'boolean') throw new InvalidSchema(`${k} must be of a Number`);
  }
  if (typeof s.multipleOf === 'number' && s.multipleOf <= 0) throw new InvalidSchema('multipleOf must be strictly greater than 0');
}

function checkValueKeywords(s: SchemaObject): void {
  if ('required' in s) {
    if (!Array.isArray(s.required)) throw new InvalidSchema('required must be of an array');
    if (!s.required.every((x) => typeof x === 'string')) throw new InvalidSchema('Invalid type. Expected: string, given: required');
  }
  if ('enum' in s && !Array.isArray(s.enum)) throw new InvalidSchema('enum must be of an array');
  if ('pattern' in s) {
    if (typeof s.pattern !== 'string') throw new InvalidSchema('pattern must be of a string');
    regex(s.pattern);
  }
}

function checkProperties(s: SchemaObject, root: Json): void {
  for (const k of ['properties', 'patternProperties']) {
    if (!(k in s)) continue;
    const props = s[k];
    if (!isObject(props)) throw new InvalidSchema(`${k} must be of an object`);
    for (const [name, sub] of Object.entries(props)) {
      if (k === 'patternProperties') checkPropertyPattern(name);
      checkSchema(sub, root);
    }
  }
}

function checkPropertyPattern(name: string): void {
  try {
    regex(name);
  } catch (e) {
    if (e instanceof InvalidSchema) throw new InvalidSchema(`Invalid regex pattern '${name}'`);
    throw e;
  }
}

function checkSubschemas(s: SchemaObject, root: Json): void {
  for (const k of ['additionalProperties', 'additionalItems']) {
    if (!(k in s)) continue;
    if (!isSchema(s[k])) throw new InvalidSchema(`Invalid type. Expected: boolean/Valid Schema, given: ${k}`);
    checkSchema(s[k] as Json, root);
  }
  for (const k of ['propertyNames', 'contains', 'not', 'if', 'then', 'else']) {
    if (!(k in s)) continue;
    if (!isSchema(s[k])) throw unsupported(`a ${k} that is not a schema`);
    checkSchema(s[k] as Json, root);
  }
  if (!('items' in s)) return;
  const items = s.items;
  if (Array.isArray(items)) items.forEach((i) => checkSchema(i, root));
  else if (isSchema(items)) checkSchema(items as Json, root);
  else throw new InvalidSchema('Invalid type. Expected: Valid Schema/Array Of Schemas, given: items');
}

function checkCombinators(s: SchemaObject, root: Json): void {
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    if (!(k in s)) continue;
    const list = s[k];
    if (!Array.isArray(list)) throw new InvalidSchema(`${k} must be of an array`);
    list.forEach((i) => checkSchema(i, root));
  }
}

function checkDependencies(s: SchemaObject, root: Json): void {
  if (!('dependencies' in s)) return;
  const deps = s.dependencies;
  if (!isObject(deps)) throw new InvalidSchema('dependencies must be of an object');
  for (const d of Object.values(deps)) {
    if (Array.isArray(d) && d.every((x) => typeof x === 'string')) continue;
    if (Array.isArray(d) || !isSchema(d)) throw new InvalidSchema('Dependency must be of type Schema Or Array Of Strings');
    checkSchema(d, root);
  }
}

function checkDefinitions(s: SchemaObject, root: Json): void {
  for (const k of ['definitions', '$defs']) {
    if (k in s && isObject(s[k])) for (const d of Object.values(s[k] as object)) checkSchema(d as Json, root);
  }
}

/**
 * The keyword checks in the order OPA's validator makes them. Other keywords
 * (annotations, extensions) are ignored, as OPA's validator does.
 */
const KEYWORD_CHECKS: readonly KeywordCheck[] = [
  (s) => {
    if ('format' in s) throw unsupported('the format keyword');
  },
  checkType,
  checkSizes,
  checkNumbers,
  checkValueKeywords,
  checkProperties,
  checkSubschemas,
  checkCombinators,
  checkDependencies,
  checkDefinitions,
  (s, root) => {
    if ('$ref' in s) resolveRef(root, s.$ref);
  },
];

/** A `$ref` within the schema: `#` or a JSON pointer from it. */
export function resolveRef(root: Json, ref: Json): Json {
  if (typeof ref !== 'string' || !ref.startsWith('#')) throw unsupported(`$ref ${JSON.stringify(ref)} (only references within the schema are)`);
  const pointer = ref.slice(1);
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) throw unsupported(`$ref ${JSON.stringify(ref)} (only JSON pointers are)`);
  let at: Json = root;
  for (const raw of pointer.slice(1).split('/')) at = pointerStep(at, decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~'));
  return at;
}

function pointerStep(at: Json, key: string): Json {
  if (Array.isArray(at) && /^\d+$/.test(key) && Number(key) < at.length) return at[Number(key)]!;
  if (isObject(at) && key in at) return at[key]!;
  throw new InvalidSchema(`Object has no key '${key}'`);
}
