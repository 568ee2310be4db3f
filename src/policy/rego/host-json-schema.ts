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

import { checkSchema } from './json-schema/check-schema.ts';
import { InvalidSchema, UnsupportedSchema, type Json, type Schema } from './json-schema/schema-types.ts';
import { Validator, type SchemaError } from './json-schema/validator.ts';

export type { SchemaError } from './json-schema/validator.ts';

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
