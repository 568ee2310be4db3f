// Errors that name values: OPA's messages for builtin type errors.

import { msgBegin, msgStr, msgInt, msgAbort } from './abort';
import { TYPE_NULL, TYPE_BOOLEAN, TYPE_NUMBER, TYPE_STRING, TYPE_ARRAY, TYPE_OBJECT } from './value';

/** OPA's name of a value's type. */
export function typeName(v: usize): string {
  switch (load<u8>(v)) {
    case TYPE_NULL: return 'null';
    case TYPE_BOOLEAN: return 'boolean';
    case TYPE_NUMBER: return 'number';
    case TYPE_STRING: return 'string';
    case TYPE_ARRAY: return 'array';
    case TYPE_OBJECT: return 'object';
  }
  return 'set';
}

/**
 * Aborts with OPA's type error:
 * `eval_type_error: <builtin>: operand <n> must be <expected> but got <type>`.
 */
export function typeError(builtin: string, operand: i32, expected: string, got: usize): void {
  msgBegin();
  msgStr('eval_type_error: ');
  msgStr(builtin);
  msgStr(': operand ');
  msgInt(operand);
  msgStr(' must be ');
  msgStr(expected);
  msgStr(' but got ');
  msgStr(typeName(got));
  msgAbort();
}
