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
  const n = normalisePath('/a%2Fprod/x');
  assert.equal(n.path, '/a/prod/x');
  assert.equal(n.forward, '/a%2Fprod/x');
});

test('an encoded slash that forms a dot segment is refused: servers resolve it differently', () => {
  for (const bad of ['/tools/inventory/admin%2F..%2Fv1%2Fitems', '/admin%2F..', '/a%2F.%2Fb', '/a%2f..']) {
    assert.throws(() => normalisePath(bad), (e: any) => e.code === ErrorCodes.BAD_PATH, bad);
  }
  // A dot that only starts a name is not a dot segment.
  assert.equal(normalisePath('/a%2F.hidden').path, '/a/.hidden');
});

test('runs of slashes are folded for the policy and the upstream alike', () => {
  assert.deepEqual(normalisePath('//admin'), { path: '/admin', forward: '/admin' });
  assert.deepEqual(normalisePath('/v1//items///x/'), { path: '/v1/items/x/', forward: '/v1/items/x/' });
  assert.equal(normalisePath('/%2F%2Fadmin').path, '/admin');
  // Merged first or resolved first, `/a//../b` reads as `/b` or `/a/b`: refused.
  assert.throws(() => normalisePath('/a//../b'), (e: any) => e.code === ErrorCodes.BAD_PATH);
});

test('path parameters (";") are refused: Java containers strip them, other servers do not', () => {
  for (const bad of ['/admin;x=1', '/v1/items/..;/..;/admin', '/a;/b']) {
    assert.throws(() => normalisePath(bad), (e: any) => e.code === ErrorCodes.BAD_PATH, bad);
  }
  assert.equal(normalisePath('/a%3Bb').path, '/a;b');
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
