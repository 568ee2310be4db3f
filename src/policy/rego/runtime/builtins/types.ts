// Type predicates and type_name. The predicates return false (never
// undefined) for other types, as OPA's do.

import { TYPE_NULL, TYPE_BOOLEAN, TYPE_NUMBER, TYPE_STRING, TYPE_ARRAY, TYPE_OBJECT, TYPE_SET, makeBool, makeStringLiteral } from '../value';
import { typeName } from '../errors';

export function builtin_is_null(v: usize): usize { return makeBool(load<u8>(v) == TYPE_NULL); }
export function builtin_is_boolean(v: usize): usize { return makeBool(load<u8>(v) == TYPE_BOOLEAN); }
export function builtin_is_number(v: usize): usize { return makeBool(load<u8>(v) == TYPE_NUMBER); }
export function builtin_is_string(v: usize): usize { return makeBool(load<u8>(v) == TYPE_STRING); }
export function builtin_is_array(v: usize): usize { return makeBool(load<u8>(v) == TYPE_ARRAY); }
export function builtin_is_object(v: usize): usize { return makeBool(load<u8>(v) == TYPE_OBJECT); }
export function builtin_is_set(v: usize): usize { return makeBool(load<u8>(v) == TYPE_SET); }

export function builtin_type_name(v: usize): usize {
  return makeStringLiteral(typeName(v));
}
