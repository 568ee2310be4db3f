import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBody, parseTerm } from '../../../../src/policy/rego/parser/index.ts';
import { renderBody, renderTerm } from './render.ts';

const t = (src: string): string => renderTerm(parseTerm(src));
const b = (src: string): string => renderBody(parseBody(src));

describe('Rego operator precedence', () => {
  it('binds * / % tighter than + -', () => {
    assert.equal(t('1 + 2 * 3'), 'plus(1, mul(2, 3))');
    assert.equal(t('1 * 2 + 3'), 'plus(mul(1, 2), 3)');
    assert.equal(t('a - b / c % d'), 'minus(a, rem(div(b, c), d))');
  });

  it('is left-associative within a level', () => {
    assert.equal(t('1 - 2 - 3'), 'minus(minus(1, 2), 3)');
    assert.equal(t('a / b * c'), 'mul(div(a, b), c)');
    assert.equal(t('a | b | c'), 'or(or(a, b), c)');
    assert.equal(t('a == b != c'), 'neq(equal(a, b), c)');
  });

  it('orders & above | above relations above in', () => {
    assert.equal(t('a | b & c'), 'or(a, and(b, c))');
    assert.equal(t('a & b + c'), 'and(a, plus(b, c))');
    assert.equal(t('a | b == c & d'), 'equal(or(a, b), and(c, d))');
    assert.equal(t('x + 1 in xs'), 'internal.member_2(plus(x, 1), xs)');
    assert.equal(t('x == y in s'), 'internal.member_2(equal(x, y), s)');
    assert.equal(t('a in b in c'), 'internal.member_2(internal.member_2(a, b), c)');
  });

  it('respects parentheses', () => {
    assert.equal(t('(1 + 2) * 3'), 'mul(plus(1, 2), 3)');
    assert.equal(t('a * (b + c)'), 'mul(a, plus(b, c))');
  });

  it('parses every comparison operator', () => {
    for (const [op, name] of [['==', 'equal'], ['!=', 'neq'], ['<', 'lt'], ['<=', 'lte'], ['>', 'gt'], ['>=', 'gte']]) {
      assert.equal(t(`a ${op} b`), `${name}(a, b)`);
    }
  });

  it('reads a minus before a number as a negative literal, and a binary minus after a term', () => {
    assert.equal(t('x - 1'), 'minus(x, 1)');
    assert.equal(t('x -1'), 'minus(x, 1)');
    assert.equal(t('[1, -1]'), '[1, -1]');
    assert.equal(t('x - -1'), 'minus(x, -1)');
    assert.throws(() => parseTerm('-x'), /unexpected ident token: expected number/);
  });

  it('puts := and = below every other operator', () => {
    assert.equal(b('x := 1 + 2'), 'assign(x, plus(1, 2))');
    assert.equal(b('x = y == z'), 'eq(x, equal(y, z))');
    assert.equal(b('x := a in b'), 'assign(x, internal.member_2(a, b))');
  });

  it('parses `k, v in xs` at expression level but not inside lists', () => {
    assert.equal(b('k, v in xs'), 'internal.member_3(k, v, xs)');
    assert.equal(t('[k, v in xs]'), '[k, internal.member_2(v, xs)]');
    assert.equal(t('f(k, v in xs)'), 'f(k, internal.member_2(v, xs))');
  });

  it('keeps the source symbol of infix calls', () => {
    const c = parseTerm('a + b');
    assert.equal(c.type === 'call' && c.infix, '+');
    const [e] = parseBody('a := b');
    assert.equal(e?.type === 'call' && e.infix, ':=');
  });
});
