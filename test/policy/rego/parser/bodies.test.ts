import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBody } from '../../../../src/policy/rego/parser/index.ts';
import { renderBody } from './render.ts';

const b = (src: string): string => renderBody(parseBody(src));

describe('Rego bodies', () => {
  it('separates expressions with ; and line breaks', () => {
    assert.equal(b('a; b\nc\n\n  d'), 'a; b; c; d');
    assert.equal(parseBody('x := 1; y := 2').length, 2);
  });

  it('continues an expression across a line break after an operator', () => {
    assert.equal(b('x := 1 +\n 2'), 'assign(x, plus(1, 2))');
    assert.equal(b('x := [\n1,\n2,\n]'), 'assign(x, [1, 2])');
  });

  it('refuses two expressions on one line without ;', () => {
    assert.throws(() => parseBody('a b'), /unexpected ident token: expected \\n or ; or eof/);
  });

  it('makes a top-level call a call expression and a nested call a call term', () => {
    const [e] = parseBody('f(g(x))');
    assert.equal(e?.type, 'call');
    assert.equal(e?.type === 'call' && e.args[0]?.type, 'call');
    const [t] = parseBody('x');
    assert.equal(t?.type, 'term');
  });

  it('parses not', () => {
    const [e] = parseBody('not input.x == 1');
    assert.equal(e?.negated, true);
    assert.equal(b('not f(x)'), 'not f(x)');
  });

  it('parses some declarations', () => {
    assert.equal(b('some x, y'), 'some x, y');
    assert.equal(b('some x in xs'), 'some x in xs');
    assert.equal(b('some k, v in {"a": 1}'), 'some k, v in {"a": 1}');
    assert.equal(b('some [a, b] in pairs'), 'some [a, b] in pairs');
    assert.equal(b('some _, v in xs'), 'some $0, v in xs');
    assert.equal(b('some x\nx > 1'), 'some x; gt(x, 1)');
  });

  it('parses every', () => {
    assert.equal(b('every x in xs { x > 0 }'), 'every x in xs { gt(x, 0) }');
    assert.equal(b('every k, v in o {\n k != v\n v\n}'), 'every k, v in o { neq(k, v); v }');
  });

  it('refuses negated some and every, and every without a body', () => {
    assert.throws(() => parseBody('not some x'), /illegal negation of 'some'/);
    assert.throws(() => parseBody('not every x in xs { x }'), /illegal negation of 'every'/);
    assert.throws(() => parseBody('every x in xs'), /missing body/);
    assert.throws(() => parseBody('every 1 in xs { true }'), /expected value to be a variable/);
  });

  it('parses with modifiers', () => {
    assert.equal(
      b('data.p with input.a as 1 with data.x as y'),
      'data.p with input.a as 1 with data.x as y',
    );
    assert.equal(b('allow with input as {"u": 1}'), 'allow with input as {"u": 1}');
    assert.equal(b('f(x) with count as mock'), 'f(x) with count as mock');
    assert.equal(b('some x in xs with input as 1'), 'some x in xs with input as 1');
  });

  it('parses assignment and unification of patterns', () => {
    assert.equal(b('[a, b] := [1, 2]'), 'assign([a, b], [1, 2])');
    assert.equal(b('{"k": v} = input'), 'eq({"k": v}, input)');
  });

  it('accepts conformance-style queries', () => {
    assert.equal(b('data.generated.p = x'), 'eq(data.generated.p, x)');
  });
});
