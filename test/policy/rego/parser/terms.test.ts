import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTerm } from '../../../../src/policy/rego/parser/index.ts';
import { renderTerm } from './render.ts';

const r = (src: string): string => renderTerm(parseTerm(src));

describe('Rego terms: scalars', () => {
  it('keeps number literals exactly as written', () => {
    assert.deepEqual(parseTerm('123456789012345678901234567890'), {
      type: 'number',
      value: '123456789012345678901234567890',
      loc: { file: 'term', row: 1, col: 1, offset: 0 },
    });
    assert.equal(r('1.50'), '1.50');
    assert.equal(r('1e3'), '1e3');
    assert.equal(r('2.5E-10'), '2.5E-10');
    assert.equal(r('-7'), '-7');
    assert.equal(r('0.5'), '0.5');
    assert.equal(r('.5'), '.5');
    assert.equal(r('-.5'), '-.5');
  });

  it('decodes string escapes and keeps raw strings verbatim', () => {
    const s = parseTerm(String.raw`"a\"b\\c\n\u00e9\ud83d\ude00"`);
    assert.equal(s.type, 'string');
    assert.equal(s.type === 'string' && s.value, 'a"b\\c\né😀');
    const raw = parseTerm('`a\\nb\nc`');
    assert.deepEqual(raw.type === 'string' && [raw.value, raw.raw], ['a\\nb\nc', true]);
  });

  it('parses true, false, null', () => {
    assert.deepEqual(['true', 'false', 'null'].map((s) => parseTerm(s).type), ['boolean', 'boolean', 'null']);
  });

  it('gives every wildcard a fresh name', () => {
    const t = parseTerm('[_, _, x]');
    assert.equal(t.type, 'array');
    if (t.type !== 'array') return;
    assert.deepEqual(
      t.items.map((i) => (i.type === 'var' ? [i.name, i.wildcard ?? false] : null)),
      [['$0', true], ['$1', true], ['x', false]],
    );
  });
});

describe('Rego terms: refs and calls', () => {
  it('parses dotted, bracketed and mixed refs', () => {
    const t = parseTerm('a.b[x]["s"][_]');
    assert.equal(t.type, 'ref');
    if (t.type !== 'ref') return;
    assert.equal(t.head.type === 'var' && t.head.name, 'a');
    assert.deepEqual(t.path.map((p) => p.type), ['string', 'var', 'string', 'var']);
    assert.equal(r('input.request["x-y"][0]'), 'input.request["x-y"][0]');
  });

  it('turns bare data and input into refs', () => {
    assert.deepEqual(
      [parseTerm('data'), parseTerm('input')].map((t) => t.type === 'ref' && t.path.length),
      [0, 0],
    );
  });

  it('roots refs at any composite term', () => {
    assert.equal(r('[1, 2][0]'), '[1, 2][0]');
    assert.equal(r('{"a": 1}.a'), '{"a": 1}.a');
    assert.equal(r('f(x).y[0]'), 'f(x).y[0]');
    const t = parseTerm('f(x).y');
    assert.equal(t.type === 'ref' && t.head.type, 'call');
  });

  it('parses calls with dotted names and keywords as ref segments', () => {
    assert.equal(r('a.b.c(x, 1)'), 'a.b.c(x, 1)');
    assert.equal(r('count([])'), 'count([])');
    assert.equal(r('input.if.contains'), 'input.if.contains');
    assert.equal(r('contains("abc", "b")'), 'contains("abc", "b")');
    assert.equal(r('time.now_ns()'), 'time.now_ns()');
  });

  it('does not continue a ref across whitespace', () => {
    assert.throws(() => parseTerm('a [1]'), { code: 'PORTCULLIS_REGO_PARSE' });
  });
});

describe('Rego terms: collections', () => {
  it('parses arrays, objects and sets, with trailing commas', () => {
    assert.equal(r('[1, "a", [true],]'), '[1, "a", [true]]');
    assert.equal(r('{"a": 1, "b": {"c": null},}'), '{"a": 1, "b": {"c": null}}');
    assert.equal(r('{1, 2, 3}'), '{1, 2, 3}');
    assert.equal(parseTerm('{}').type, 'object');
    assert.equal(parseTerm('set()').type, 'set');
  });

  it('parses comprehensions', () => {
    assert.equal(r('[x | x := xs[_]]'), '[x | assign(x, xs[$0])]');
    assert.equal(r('{x | some x in xs}'), '{x | some x in xs}');
    assert.equal(r('{k: v | some k, v in o; v > 1}'), '{k: v | some k, v in o; gt(v, 1)}');
    assert.equal(r('[x | x := 1\n y := 2]'), '[x | assign(x, 1); assign(y, 2)]');
  });

  it('reads `{a | b}` as a comprehension and `{a | b, c}` as a set of or-calls', () => {
    assert.equal(parseTerm('{a | b}').type, 'setcomprehension');
    assert.equal(r('{a | b, c}'), '{or(a, b), c}');
    assert.equal(r('[a | b, c]'), '[or(a, b), c]');
    assert.equal(parseTerm('{"k": a | b}').type, 'objectcomprehension');
  });

  it('parses keys and values with infix operators', () => {
    assert.equal(r('{x + 1: y * 2}'), '{plus(x, 1): mul(y, 2)}');
    assert.equal(r('{x + 1, 2}'), '{plus(x, 1), 2}');
  });
});

describe('Rego terms: template strings', () => {
  it('splits literal parts and embedded expressions', () => {
    const t = parseTerm('$"a {x + 1} b {input.y}"');
    assert.equal(t.type, 'templatestring');
    if (t.type !== 'templatestring') return;
    assert.equal(t.parts.length, 4);
    assert.equal(renderTerm(t), '$"a {plus(x, 1)} b {input.y}"');
  });

  it('handles raw templates, escaped braces and nested braces', () => {
    assert.equal(r('$`x \\{y} {{1}}`'), '$"x {y} {{1}}"');
    assert.equal(r('$"\\{literal}"'), '$"{literal}"');
  });

  it('refuses assignments inside template expressions', () => {
    assert.throws(() => parseTerm('$"{x := 1}"'), /unexpected assignment/);
  });
});
