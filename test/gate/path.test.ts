import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalisePath, removeDotSegments, parseQuery, formatQuery, splitPathAndQuery } from '../../src/gate/path.ts';
import { ErrorCodes } from '../../src/errors.ts';

test('percent-encoded letters are decoded for the policy and the upstream', () => {
  assert.deepEqual(normalisePath('/%70rod/x'), { path: '/prod/x', forward: '/prod/x' });
});

test('dot segments are removed, including encoded ones', () => {
  assert.equal(normalisePath('/public/../prod/x').path, '/prod/x');
  assert.equal(normalisePath('/public/%2e%2E/prod/x').path, '/prod/x');
  assert.equal(normalisePath('/a/./b/').path, '/a/b/');
  assert.equal(normalisePath('/../../etc').path, '/etc');
});

test('an encoded slash is read as a slash by the policy but kept encoded upstream', () => {
  const n = normalisePath('/a%2F..%2Fprod/x');
  assert.equal(n.path, '/prod/x');
  assert.equal(n.forward, '/a%2F..%2Fprod/x');
});

test('malformed and control-character paths are refused with BAD_PATH', () => {
  for (const bad of ['/a%zz', '/a%', '/a%00b', '/a%0a', '/%ff', 'relative', '/a\\..\\prod', '/a%5C..%5Cprod']) {
    assert.throws(() => normalisePath(bad), (e: any) => e.code === ErrorCodes.BAD_PATH, bad);
  }
});

test('removeDotSegments keeps the root', () => {
  assert.equal(removeDotSegments('/'), '/');
  assert.equal(removeDotSegments('/..'), '/');
});

test('query values are lists in order, and round-trip', () => {
  const q = parseQuery('a=1&b=x%20y&a=2');
  assert.deepEqual(q, { a: ['1', '2'], b: ['x y'] });
  assert.equal(formatQuery({ dryRun: ['true'] }), '?dryRun=true');
  assert.equal(formatQuery({}), '');
  assert.deepEqual(splitPathAndQuery('/p?x=1#frag'), { rawPath: '/p', rawQuery: 'x=1' });
});
