import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_JSON_DEPTH, findDuplicateKey, findInexactNumber, jsonDepth, parseStrictJson, scanJson } from '../../src/gate/strict-json.ts';
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

function nested(depth: number, leaf = '1'): string {
  return '['.repeat(depth) + leaf + ']'.repeat(depth);
}

test('jsonDepth counts objects and arrays, not brackets inside strings', () => {
  assert.equal(jsonDepth('1'), 0);
  assert.equal(jsonDepth('{"a":[{"b":"[[[{{{"}]}'), 3);
  assert.equal(jsonDepth('["\\"[[[", {"x\\\\":[]}]'), 3);
  assert.equal(jsonDepth(nested(40)), 40);
});

test('parseStrictJson refuses nesting past MAX_JSON_DEPTH with BAD_REQUEST, and accepts it up to there', () => {
  assert.equal(MAX_JSON_DEPTH, 256);
  assert.equal(jsonDepth(JSON.stringify(parseStrictJson(nested(MAX_JSON_DEPTH)))), MAX_JSON_DEPTH);
  for (const depth of [MAX_JSON_DEPTH + 1, 509, 10_000]) {
    assert.throws(() => parseStrictJson(nested(depth)), (e: any) => e.code === ErrorCodes.BAD_REQUEST && e.details.maxDepth === MAX_JSON_DEPTH);
  }
});

test('findInexactNumber names a literal a double cannot hold, and passes every spelling it can', () => {
  for (const inexact of ['100.0000000000000001', '12345678901234567890', '9007199254740993', '1e400', '-1e400', '1e-400']) {
    assert.equal(findInexactNumber(`{"n":${inexact}}`), inexact, inexact);
  }
  for (const exact of ['100', '100.0', '-0', '0.1', '1.5e3', '2E-7', '0.30000000000000004', '1.7976931348623157e308', '5e-324', '9007199254740992', '1.0e2']) {
    assert.equal(findInexactNumber(`[${exact}, "1.00000000000000000001"]`), undefined, exact);
  }
  assert.throws(() => parseStrictJson('{"amount": 100.0000000000000001}'), (e: any) => e.code === ErrorCodes.BAD_REQUEST);
});

/** The nesting depth of a parsed value: the reference the scanner's text-level count must match. */
function valueDepth(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(valueDepth));
}

test('scanJson agrees with JSON.parse on any JSON text: depth, no repeated key, every number exact', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
      const text = JSON.stringify(value, null, pretty ? 2 : undefined);
      const scan = scanJson(text);
      assert.equal(scan.depth, valueDepth(JSON.parse(text)));
      assert.equal(scan.duplicateKey, undefined);
      assert.equal(scan.inexactNumber, undefined, text);
    }),
    { seed: 20261204, numRuns: 500 },
  );
});

test('scanJson finds a key repeated in any object, spelled with or without escapes', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.nat(), fc.boolean(), (obj, pick, escape) => {
      const keys = Object.keys(obj);
      const key = keys[pick % keys.length]!;
      const spelled = escape ? `"${[...key].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(key);
      const text = `{"wrap":[${JSON.stringify(obj).slice(0, -1)},${spelled}:1}]}`;
      assert.equal(scanJson(text).duplicateKey, key);
    }),
    { seed: 20261204, numRuns: 300 },
  );
});
