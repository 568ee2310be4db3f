import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { overlaps, parseType, showType, union } from '../../../../src/policy/rego/check/types.ts';

describe('Rego static types', () => {
  it('parse and print OPA notation', () => {
    for (const s of ['number', 'array[string]', 'set[any]', 'object[string: any]', 'any<number, set[any]>', 'array[array[string]]']) {
      assert.equal(showType(parseType(s)), s);
    }
    assert.throws(() => parseType('array[string'));
  });

  it('overlap only when some value has both types', () => {
    const t = parseType;
    assert.equal(overlaps(t('number'), t('string')), false);
    assert.equal(overlaps(t('any'), t('string')), true);
    assert.equal(overlaps(t('any<number, string>'), t('string')), true);
    assert.equal(overlaps(t('array[number]'), t('array[string]')), false);
    assert.equal(overlaps(t('array[any]'), t('array[string]')), true);
    assert.equal(overlaps(t('set[string]'), t('array[string]')), false);
    assert.equal(overlaps(t('object[number: string]'), t('object[string: string]')), true);
    assert.equal(overlaps(t('object[string: number]'), t('object[string: string]')), false);
  });

  it('build flat unions in which any absorbs everything', () => {
    assert.equal(showType(union([parseType('number'), parseType('any<number, string>')])), 'any<number, string>');
    assert.equal(showType(union([parseType('number'), parseType('any')])), 'any');
  });
});
