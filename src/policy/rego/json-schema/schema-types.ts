/**
 * The values json.match_schema and json.verify_schema work on, and the two
 * ways a schema fails: invalid (OPA's validator rejects it too) or
 * unsupported (it uses what this validator does not implement).
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type SchemaObject = { [k: string]: Json };
export type Schema = boolean | SchemaObject;

/** A schema OPA's validator rejects: verify_schema reports it, match_schema raises it. */
export class InvalidSchema extends Error {}

/** Something the schema uses that this validator does not implement: refused, never guessed. */
export class UnsupportedSchema extends Error {}

export function unsupported(what: string): Error {
  return new UnsupportedSchema(`${what} is not supported by Portcullis's JSON Schema validator`);
}

export function isObject(v: Json | undefined): v is SchemaObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
