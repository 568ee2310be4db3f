import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseModule, parseTerm } from '../../../../src/policy/rego/parser/index.ts';
import { renderTerm } from './render.ts';

const r = (src: string): string => renderTerm(parseTerm(src));

describe('Rego comprehensions with infix heads', () => {
  it('ends an array head with operators at the top-level `|`', () => {
    assert.equal(r('[y * 2 | some y in xs]'), '[mul(y, 2) | some y in xs]');
    assert.equal(r('[y + 1 | y := xs[_]]'), '[plus(y, 1) | assign(y, xs[$0])]');
  });

  it('reads sets and objects with plain heads as before', () => {
    assert.equal(r('{x | some x in xs}'), '{x | some x in xs}');
    assert.equal(r('{k: v | some k, v in o}'), '{k: v | some k, v in o}');
  });

  it('ends set heads and object values with operators at the top-level `|`', () => {
    assert.equal(r('{x * 2 | some x in xs}'), '{mul(x, 2) | some x in xs}');
    assert.equal(r('{k: v - 1 | some k, v in o}'), '{k: minus(v, 1) | some k, v in o}');
    assert.equal(r('{k + "x": v | some k, v in o}'), '{plus(k, "x"): v | some k, v in o}');
  });

  it('keeps a union in parentheses, brackets and call arguments inside the head', () => {
    assert.equal(r('[(a | b) | some a in xs; b := {1}]'), '[or(a, b) | some a in xs; assign(b, {1})]');
    assert.equal(r('[count(a | b) + 1 | some a in xs; b := {1}]'), '[plus(count(or(a, b)), 1) | some a in xs; assign(b, {1})]');
    assert.equal(r('{(a | b) & c | some a in xs}'), '{and(or(a, b), c) | some a in xs}');
  });

  it('keeps the list reading wherever OPA accepts one', () => {
    assert.equal(r('[x * 2 | y]'), '[or(mul(x, 2), y)]');
    assert.equal(r('[a | b, c]'), '[or(a, b), c]');
    assert.equal(r('{x + 1 | y, z}'), '{or(plus(x, 1), y), z}');
    assert.equal(r('{"k": v | w, "j": 1}'), '{"k": or(v, w), "j": 1}');
  });

  it('reports the error in the body once the head and `|` are read', () => {
    assert.throws(() => parseTerm('[y * 2 | some y in xs; y >]'), (e: Error) => /1:27: rego_parse_error: unexpected \] token/.test(e.message));
  });

  it('parses such comprehensions in rule bodies', () => {
    const m = parseModule('package p\n\ndoubled := [y * 2 | some y in input.xs]\n', 'p.rego');
    assert.equal(m.rules.length, 1);
    assert.equal(m.rules[0]!.head.value?.type, 'arraycomprehension');
  });
});
