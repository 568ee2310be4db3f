import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findDuplicateKey, parseStrictJson } from '../../src/gate/strict-json.ts';
import { ErrorCodes } from '../../src/errors.ts';

test('duplicate keys are found at any depth, compared decoded', () => {
  assert.equal(findDuplicateKey('{"path":"/tmp","path":"/prod"}'), 'path');
  assert.equal(findDuplicateKey('{"a":{"b":1,"b":2}}'), 'b');
  assert.equal(findDuplicateKey('[{"a":1},{"a":1,"\\u0061":2}]'), 'a');
  assert.equal(findDuplicateKey('{"a":{"x":1},"a":2}'), 'a');
});

test('the same key in sibling objects and key-like string values are fine', () => {
  assert.equal(findDuplicateKey('[{"a":1},{"a":2}]'), undefined);
  assert.equal(findDuplicateKey('{"a":"b","c":"a","d":["a","a"],"e":"\\"a\\""}'), undefined);
  assert.equal(findDuplicateKey('{"a":{"a":{"a":1}}}'), undefined);
});

test('parseStrictJson refuses duplicates and syntax errors with distinct codes', () => {
  assert.deepEqual(parseStrictJson('{"a":[1,2]}'), { a: [1, 2] });
  assert.throws(() => parseStrictJson('{"a":1,"a":2}'), (e: any) => e.code === ErrorCodes.JSON_DUPLICATE_KEY && e.details.key === 'a');
  assert.throws(() => parseStrictJson('{"a":'), (e: any) => e.code === ErrorCodes.BAD_REQUEST);
});
