/**
 * Argument and result types of builtins, in OPA's notation, for the type
 * check. A builtin missing here is simply not type-checked. Parsed on first
 * use, not at import.
 */
import { parseType, type RegoType } from './types.ts';

export interface Signature {
  args: RegoType[];
  result: RegoType;
}

const COLLECTION = 'any<set[any], array[any]>';
const PATHS = 'any<array[any<string, array[any]>], set[any<string, array[any]>]>';
const KEYS = 'any<array[any], set[any], object[any: any]>';

const TABLE: Record<string, [args: string[], result: string]> = {
  abs: [['number'], 'number'],
  and: [['set[any]', 'set[any]'], 'set[any]'],
  or: [['set[any]', 'set[any]'], 'set[any]'],
  plus: [['number', 'number'], 'number'],
  minus: [['any<number, set[any]>', 'any<number, set[any]>'], 'any<number, set[any]>'],
  mul: [['number', 'number'], 'number'],
  div: [['number', 'number'], 'number'],
  rem: [['number', 'number'], 'number'],
  round: [['number'], 'number'],
  ceil: [['number'], 'number'],
  floor: [['number'], 'number'],
  equal: [['any', 'any'], 'boolean'],
  neq: [['any', 'any'], 'boolean'],
  lt: [['any', 'any'], 'boolean'],
  lte: [['any', 'any'], 'boolean'],
  gt: [['any', 'any'], 'boolean'],
  gte: [['any', 'any'], 'boolean'],
  'array.concat': [['array[any]', 'array[any]'], 'array[any]'],
  'array.slice': [['array[any]', 'number', 'number'], 'array[any]'],
  'base64.decode': [['string'], 'string'],
  'base64.encode': [['string'], 'string'],
  'base64.is_valid': [['string'], 'boolean'],
  'base64url.decode': [['string'], 'string'],
  'base64url.encode': [['string'], 'string'],
  'bits.and': [['number', 'number'], 'number'],
  'bits.lsh': [['number', 'number'], 'number'],
  'bits.negate': [['number'], 'number'],
  'bits.or': [['number', 'number'], 'number'],
  'bits.rsh': [['number', 'number'], 'number'],
  'bits.xor': [['number', 'number'], 'number'],
  concat: [['string', 'any<set[string], array[string]>'], 'string'],
  contains: [['string', 'string'], 'boolean'],
  count: [['any<set[any], array[any], object[any: any], string>'], 'number'],
  endswith: [['string', 'string'], 'boolean'],
  format_int: [['number', 'number'], 'string'],
  'glob.match': [['string', 'any<array[string], null>', 'string'], 'boolean'],
  'graph.reachable': [[`object[any: ${COLLECTION}]`, COLLECTION], 'set[any]'],
  indexof: [['string', 'string'], 'number'],
  intersection: [['set[set[any]]'], 'set[any]'],
  // `x in xs` and `k, v in xs` as values: booleans.
  'internal.member_2': [['any', 'any'], 'boolean'],
  'internal.member_3': [['any', 'any', 'any'], 'boolean'],
  is_array: [['any'], 'boolean'],
  is_boolean: [['any'], 'boolean'],
  is_null: [['any'], 'boolean'],
  is_number: [['any'], 'boolean'],
  is_object: [['any'], 'boolean'],
  is_set: [['any'], 'boolean'],
  is_string: [['any'], 'boolean'],
  'json.filter': [['object[any: any]', PATHS], 'any'],
  'json.is_valid': [['string'], 'boolean'],
  'json.marshal': [['any'], 'string'],
  'json.remove': [['object[any: any]', PATHS], 'any'],
  'json.unmarshal': [['string'], 'any'],
  lower: [['string'], 'string'],
  max: [[COLLECTION], 'any'],
  min: [[COLLECTION], 'any'],
  'net.cidr_contains': [['string', 'string'], 'boolean'],
  'net.cidr_intersects': [['string', 'string'], 'boolean'],
  'numbers.range': [['number', 'number'], 'array[number]'],
  'object.filter': [['object[any: any]', KEYS], 'any'],
  'object.get': [['object[any: any]', 'any', 'any'], 'any'],
  'object.remove': [['object[any: any]', KEYS], 'any'],
  'object.union': [['object[any: any]', 'object[any: any]'], 'any'],
  product: [['any<set[number], array[number]>'], 'number'],
  'rand.intn': [['string', 'number'], 'number'],
  'regex.find_all_string_submatch_n': [['string', 'string', 'number'], 'array[array[string]]'],
  'regex.is_valid': [['string'], 'boolean'],
  'regex.match': [['string', 'string'], 'boolean'],
  replace: [['string', 'string', 'string'], 'string'],
  sort: [[COLLECTION], 'array[any]'],
  split: [['string', 'string'], 'array[string]'],
  'strings.split_n': [['string', 'string', 'number'], 'array[string]'],
  'json.match_schema': [['any<string, object[any: any]>', 'any<string, object[any: any]>'], 'array[any]'],
  'json.verify_schema': [['any<string, object[any: any]>'], 'array[any]'],
  sprintf: [['string', 'array[any]'], 'string'],
  startswith: [['string', 'string'], 'boolean'],
  'strings.replace_n': [['object[string: string]', 'string'], 'string'],
  substring: [['string', 'number', 'number'], 'string'],
  sum: [['any<set[number], array[number]>'], 'number'],
  'time.diff': [['any<number, array[any<number, string>]>', 'any<number, array[any<number, string>]>'], 'array[number]'],
  to_number: [['any<number, string, boolean, null>'], 'number'],
  trim: [['string', 'string'], 'string'],
  trim_left: [['string', 'string'], 'string'],
  trim_prefix: [['string', 'string'], 'string'],
  trim_right: [['string', 'string'], 'string'],
  trim_space: [['string'], 'string'],
  trim_suffix: [['string', 'string'], 'string'],
  type_name: [['any'], 'string'],
  union: [['set[set[any]]'], 'set[any]'],
  upper: [['string'], 'string'],
  walk: [['any'], 'array[any]'],
  'yaml.is_valid': [['string'], 'boolean'],
  'yaml.marshal': [['any'], 'string'],
  'yaml.unmarshal': [['string'], 'any'],
};

let parsed: Map<string, Signature> | undefined;

export function signatureOf(name: string): Signature | undefined {
  parsed ??= new Map(
    Object.entries(TABLE).map(([n, [args, result]]) => [n, { args: args.map(parseType), result: parseType(result) }]),
  );
  return parsed.get(name);
}
