// json.match_schema and json.verify_schema against opa eval (v1.22.4): the
// same verdict, the same set of errors (OPA's order follows Go's map
// iteration and changes between runs), the same schema refusals; and what
// Portcullis does not implement is an error naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers, type Answers } from '../../../support/opa-agreement.ts';

const TOOL_ARGS = `{"type": "object", "properties": {"name": {"type": "string", "minLength": 2}, "n": {"type": "integer", "maximum": 10},
  "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["name"], "additionalProperties": false}`;

const RULES: Record<string, string> = {
  tool_bad: `json.match_schema({"name": "x", "n": 11, "tags": [1], "extra": true}, ${TOOL_ARGS})`,
  tool_ok: `json.match_schema({"name": "xy"}, ${TOOL_ARGS})`,
  tool_text: `json.match_schema("{\\"name\\": \\"xy\\"}", json.marshal(${TOOL_ARGS}))`,
  tool_missing: `json.match_schema({}, ${TOOL_ARGS})`,
  root_type: 'json.match_schema("5", {"type": "string"})',
  union_type: 'json.match_schema("1", {"type": ["string", "null"]})',
  integral: 'json.match_schema("2.0", {"type": "integer"})',
  not_integer: 'json.match_schema({"a": 1.5}, {"properties": {"a": {"type": "integer"}}})',
  null_given: 'json.match_schema("null", {"type": "object"})',
  nested: 'json.match_schema("{\\"a\\": {\\"b\\": [{\\"c\\": 1}]}}", {"properties": {"a": {"properties": {"b": {"items": {"properties": {"c": {"type": "string"}}}}}}}})',
  items_kinds: 'json.match_schema("[[1],{\\"a\\":1}]", {"items": {"type": "string"}})',
  pattern: 'json.match_schema({"a": "x"}, {"properties": {"a": {"pattern": "^[0-9]+$"}}})',
  enum: 'json.match_schema("\\"z\\"", {"enum": ["x", 1, null, {"a": [1]}, true]})',
  enum_field: 'json.match_schema({"a": "x"}, {"properties": {"a": {"enum": [1, 2]}}})',
  const: 'json.match_schema("{\\"a\\": 1}", {"const": {"a": 2}})',
  numbers: 'json.match_schema("7", {"type": "number", "minimum": 8, "maximum": 6, "exclusiveMinimum": 9, "exclusiveMaximum": 5, "multipleOf": 2})',
  multiple_decimal: 'json.match_schema("0.3", {"multipleOf": 0.1})',
  draft4_exclusive: 'json.match_schema("1", {"$schema": "http://json-schema.org/draft-04/schema#", "exclusiveMinimum": true, "minimum": 1})',
  arrays: 'json.match_schema("[1, \\"a\\", 1]", {"items": {"type": "integer"}, "maxItems": 2, "uniqueItems": true})',
  unique_numbers: 'json.match_schema("[1, 1.0]", {"uniqueItems": true, "minItems": 4})',
  tuple: 'json.match_schema("[1, 2, 3]", {"items": [{"type": "integer"}, {"type": "string"}], "additionalItems": false})',
  code_points: 'json.match_schema("\\"é\\"", {"maxLength": 1})',
  property_names: 'json.match_schema("{\\"b\\": 1}", {"propertyNames": {"pattern": "^a"}})',
  pattern_props: 'json.match_schema("{\\"x\\": 1}", {"patternProperties": {"^x": {"type": "string"}}})',
  ref: 'json.match_schema("1", {"$ref": "#/definitions/s", "definitions": {"s": {"type": "string"}}})',
  if_then: 'json.match_schema("1", {"if": {"type": "integer"}, "then": {"minimum": 3}, "else": {"type": "string"}})',
  dependency: 'json.match_schema("{\\"a\\": 1}", {"dependencies": {"a": ["b"]}})',
  any_of: 'json.match_schema("5", {"anyOf": [{"type": "string"}, {"type": "boolean"}]})',
  one_of_two: 'json.match_schema("5", {"oneOf": [{"type": "number"}, {"minimum": 1}]})',
  all_of: 'json.match_schema("5", {"allOf": [{"type": "string"}, {"minimum": 6}]})',
  not_: 'json.match_schema("5", {"not": {"type": "integer"}})',
  bool_schema: 'json.match_schema("true", "false")',
  huge: 'json.match_schema("1e400", {"type": "number"})',
  bad_doc: 'json.match_schema("{bad", {"type": "string"})',
  bad_schema_limits: 'json.match_schema("{}", {"minProperties": 9, "maxProperties": 1})',
  verify_ok: `json.verify_schema(${TOOL_ARGS})`,
  verify_annotations: 'json.verify_schema({"type": "string", "title": "T", "description": "D", "default": 1, "examples": [1], "$schema": "http://json-schema.org/draft-07/schema#", "x-custom": 1})',
  verify_type: 'json.verify_schema({"type": "nonsense"})',
  verify_type_kind: 'json.verify_schema({"type": 5})',
  verify_json: 'json.verify_schema("{bad json")',
  verify_negative: 'json.verify_schema({"minLength": -1})',
  verify_fraction: 'json.verify_schema({"minLength": 1.5})',
  verify_required: 'json.verify_schema({"required": "a"})',
  verify_property: 'json.verify_schema({"properties": {"a": 5}})',
  verify_items: 'json.verify_schema({"items": 5})',
  verify_ref: 'json.verify_schema({"$ref": "#/definitions/nope"})',
  verify_regex: 'json.verify_schema({"pattern": "[a"})',
  verify_lookahead: 'json.verify_schema({"type": "string", "pattern": "(?!x)"})',
  verify_number: 'json.verify_schema({"maximum": "x"})',
  // Found by the fuzzer (seed 7, case 4525): a null document is an error in OPA, not a mismatch.
  null_document: 'json.match_schema(input.none, {"type": "object"})',
  array_document: 'json.match_schema(input.list, {"type": "object"})',
  array_schema: 'json.match_schema({}, input.list)',
  verify_array: 'json.verify_schema(input.list)',
  additional_schema: 'json.match_schema("{\\"x\\": 1, \\"y\\": \\"s\\"}", {"properties": {"y": {"type": "string"}}, "additionalProperties": {"type": "string"}})',
  additional_items_schema: 'json.match_schema("[1, \\"a\\", 2]", {"items": [{"type": "integer"}], "additionalItems": {"type": "integer"}})',
  contains: 'json.match_schema("[1, \\"a\\"]", {"contains": {"type": "boolean"}})',
  dependency_schema: 'json.match_schema("{\\"a\\": 1}", {"dependencies": {"a": {"required": ["c"]}}})',
  if_else: 'json.match_schema("\\"s\\"", {"if": {"type": "integer"}, "then": {"minimum": 3}, "else": {"minLength": 3}})',
  any_of_closest: 'json.match_schema("5", {"anyOf": [{"type": "string", "minLength": 1}, {"minimum": 9}]})',
  re2_space: 'json.match_schema("\\"a b\\\\u00a0c\\"", {"pattern": "^a\\\\sb\\\\sc$"})',
  draft4_exclusive_max: 'json.match_schema("5", {"$schema": "http://json-schema.org/draft-04/schema#", "exclusiveMaximum": true, "maximum": 5})',
  multiple_cents: 'json.match_schema("0.07", {"multipleOf": 0.01})',
  const_null: 'json.match_schema("null", {"const": null})',
  enum_number: 'json.match_schema("1.0", {"enum": [1]})',
  nested_additional: 'json.match_schema("{\\"a\\": {\\"b\\": 1}}", {"properties": {"a": {"additionalProperties": false}}})',
  contains_and_items: 'json.match_schema("[1, 2]", {"contains": {"minimum": 5}, "items": {"maximum": 1}})',
  one_of_none: 'json.match_schema("5", {"oneOf": [{"type": "string"}, {"maximum": 1}]})',
  all_of_nested: 'json.match_schema("\\"x\\"", {"allOf": [{"minLength": 2}, {"allOf": [{"pattern": "^y"}]}]})',
  ref_nested: 'json.match_schema("{\\"a\\": [1]}", {"properties": {"a": {"$ref": "#/definitions/arr"}}, "definitions": {"arr": {"items": {"type": "string"}}}})',
  required_two: 'json.match_schema("{}", {"properties": {"a": {"default": 1}}, "required": ["a", "b"]})',
  string_limits: 'json.match_schema("\\"2024\\"", {"type": "string", "maxLength": 3, "pattern": "^[0-9]{4}$"})',
  negative_limits: 'json.match_schema("-0.5", {"minimum": -0.25, "maximum": 1e21})',
  property_counts: 'json.match_schema("{\\"k\\": 1}", {"minProperties": 2, "maxProperties": 0})',
  verify_multiple_zero: 'json.verify_schema({"multipleOf": 0})',
  verify_enum: 'json.verify_schema({"enum": "x"})',
  verify_any_of: 'json.verify_schema({"anyOf": {}})',
  verify_pattern_property: 'json.verify_schema({"patternProperties": {"[": {}}})',
  verify_root_ref: 'json.verify_schema({"$ref": "#"})',
  verify_dependency: 'json.verify_schema({"dependencies": {"a": 5}})',
  verify_required_item: 'json.verify_schema({"required": [1]})',
  recursive_ref: 'json.match_schema("[]", {"type": "array", "items": {"$ref": "#"}})',
  verify_additional: 'json.verify_schema({"additionalProperties": 5})',
};

/** Error lists compared as sets: OPA's order is Go's map iteration. */
function normalised(answers: Answers): Answers {
  return Object.fromEntries(
    Object.entries(answers).map(([k, v]) => {
      if (typeof v !== 'string') return [k, v];
      const value = JSON.parse(v) as unknown[];
      const result = value[0] as unknown[];
      if (Array.isArray(result?.[1])) result[1] = (result[1] as object[]).map((e) => JSON.stringify(e, Object.keys(e).sort())).sort();
      return [k, JSON.stringify(value)];
    }),
  );
}

test('json.match_schema and json.verify_schema answer as opa eval does', async () => {
  const input = { none: null, list: [1] };
  const [opa, ours] = await Promise.all([opaAnswers(RULES, '', input), portcullisAnswers(RULES, '', input)].map((p) => p.then(normalised)));
  const differing = Object.keys(RULES).filter((k) => JSON.stringify(ours[k]) !== JSON.stringify(opa[k]));
  assert.deepEqual(
    Object.fromEntries(differing.map((k) => [k, { ours: ours[k], opa: opa[k] }])),
    {},
    'rules where Portcullis and OPA differ',
  );
  assert.equal(ours.tool_ok, '[[true,[]]]');
  assert.equal(ours.verify_ok, '[[true,null]]');
});

test('what the validator does not implement is an error naming it', async () => {
  const rules = {
    format: 'json.match_schema("\\"x\\"", {"format": "email"})',
    remote: 'json.match_schema("1", {"$ref": "http://example.com/s.json"})',
    re2_only: 'json.match_schema("\\"x\\"", {"pattern": "(?i)x"})',
  };
  const ours = await portcullisAnswers(rules);
  for (const name of Object.keys(rules)) assert.deepEqual(ours[name], { error: 'eval_builtin_error' }, name);
});
