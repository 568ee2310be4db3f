import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';
import { renderRule, renderTerm } from './render.ts';

const mod = (rules: string) => parseModule(`package test\n\n${rules}\n`, 'test.rego');
const rules = (src: string): string[] => mod(src).rules.map(renderRule);
const kinds = (src: string): string[] => mod(src).rules.map((r) => r.kind);

describe('Rego modules: package and imports', () => {
  it('roots the package path at data', () => {
    const m = parseModule('package a.b["c-d"]', 'm.rego');
    assert.equal(renderTerm(m.package.path), 'data.a.b["c-d"]');
    assert.deepEqual(m.rules, []);
  });

  it('keeps every import, with aliases', () => {
    const m = parseModule(
      'package p\nimport rego.v1\nimport future.keywords.in\nimport future.keywords\nimport data.x.y as z\nimport input.a as b\nimport data.lib',
      'm.rego',
    );
    assert.deepEqual(
      m.imports.map((i) => `${renderTerm(i.path)}${i.alias === undefined ? '' : ` as ${i.alias}`}`),
      ['rego.v1', 'future.keywords.in', 'future.keywords', 'data.x.y as z', 'input.a as b', 'data.lib'],
    );
  });

  it('refuses imports outside data, input, future and rego', () => {
    assert.throws(() => parseModule('package p\nimport foo.bar', 'm.rego'), /unexpected import path, must begin with one of/);
  });

  it('requires a package first, and only one', () => {
    assert.throws(() => parseModule('p := 1', 'm.rego'), /package expected/);
    assert.throws(() => parseModule('', 'm.rego'), /empty module/);
    assert.throws(() => parseModule('package a\npackage b', 'm.rego'), /unexpected package/);
  });

  it('collects comments, metadata blocks included', () => {
    const m = parseModule('# METADATA\n# title: x\npackage p\np := 1 # trailing\n', 'm.rego');
    assert.deepEqual(m.comments.map((c) => [c.text, c.loc.row, c.loc.col]), [
      [' METADATA', 1, 1],
      [' title: x', 2, 1],
      [' trailing', 4, 8],
    ]);
  });
});

describe('Rego rules: complete and default', () => {
  it('parses constants with := and =, with a generated true body', () => {
    assert.deepEqual(rules('p := 1\nq = "x"'), ['p := 1 :- true', 'q = "x" :- true']);
    const [r] = mod('p := 1').rules;
    assert.equal(r?.body[0]?.generated, true);
    assert.equal(r?.kind, 'single');
  });

  it('parses if with a body, with one expression, and with a value', () => {
    assert.deepEqual(rules('p if { input.x; input.y }'), ['p = true :- input.x; input.y']);
    assert.deepEqual(rules('p if input.x > 1'), ['p = true :- gt(input.x, 1)']);
    assert.deepEqual(rules('p := v if {\n  v := 2\n}'), ['p := v :- assign(v, 2)']);
    assert.deepEqual(rules('p if every x in xs { x }'), ['p = true :- every x in xs { x }']);
  });

  it('reads `if {…}` as a body even when it would parse as a set', () => {
    assert.deepEqual(rules('p if { true }'), ['p = true :- true']);
    assert.deepEqual(rules('p if { x == 1 }'), ['p = true :- equal(x, 1)']);
  });

  it('parses default rules', () => {
    assert.deepEqual(rules('default allow := false'), ['default allow := false :- true']);
    assert.equal(mod('default allow := false').rules[0]?.default, true);
    assert.deepEqual(rules('default f(_) := 0'), ['default f($0) := 0 :- true']);
    assert.deepEqual(rules('default p := {"a": [x | x := 1]}').length, 1);
  });

  it('refuses default rules without a constant value', () => {
    assert.throws(() => mod('default p'), /illegal default rule \(must have a value\)/);
    assert.throws(() => mod('default p := input.x'), /illegal default rule \(value cannot contain ref\)/);
    assert.throws(() => mod('default p := [x]'), /illegal default rule \(value cannot contain var\)/);
    assert.throws(() => mod('default f(1) := 0'), /arguments cannot contain number/);
  });
});

describe('Rego rules: multi-value, partial objects and ref heads', () => {
  it('parses contains rules, with and without a body', () => {
    assert.deepEqual(rules('deny contains msg if { msg := "no" }'), ['deny contains msg :- assign(msg, "no")']);
    assert.deepEqual(rules('deny contains "x"'), ['deny contains "x" :- true']);
    assert.deepEqual(kinds('deny contains x if x := 1'), ['multi']);
    assert.deepEqual(rules('a.b contains x if x := 1'), ['a.b contains x :- assign(x, 1)']);
  });

  it('parses object rules as single-value rules with a var in the ref', () => {
    assert.deepEqual(rules('p[k] := v if { some k, v in input }'), ['p[k] := v :- some k, v in input']);
    assert.deepEqual(rules('p[x] if { x := 1 }'), ['p[x] = true :- assign(x, 1)']);
    assert.deepEqual(kinds('p[k] := 1 if k := "a"'), ['single']);
  });

  it('parses general ref heads', () => {
    assert.deepEqual(rules('a.b[c].d := 1 if c := "x"'), ['a.b[c].d := 1 :- assign(c, "x")']);
    assert.deepEqual(rules('a.b.c := 1'), ['a.b.c := 1 :- true']);
    assert.deepEqual(rules('a.b.c if true'), ['a.b.c = true :- true']);
    assert.deepEqual(rules('a["x-y"].z := 2'), ['a["x-y"].z := 2 :- true']);
    const [r] = mod('a.b[c].d := 1 if c := "x"').rules;
    assert.equal(r?.head.name, 'a');
  });

  it('refuses v0 rule forms', () => {
    assert.throws(() => mod('p { true }'), /`if` keyword is required before rule body/);
    assert.throws(() => mod('p[x] { x := 1 }'), /`if` keyword is required before rule body/);
    assert.throws(() => mod('p[x]'), /`contains` keyword is required for partial set rules/);
    assert.throws(() => mod('p if { true } { false }'), /`if` keyword is required before rule body/);
  });
});

describe('Rego rules: functions and else', () => {
  it('parses functions with and without values and bodies', () => {
    assert.deepEqual(rules('f(x, y) := z if { z := x + y }'), ['f(x, y) := z :- assign(z, plus(x, y))']);
    assert.deepEqual(rules('f(x) if x > 1'), ['f(x) = true :- gt(x, 1)']);
    assert.deepEqual(rules('f(x) := x'), ['f(x) := x :- true']);
    assert.deepEqual(rules('a.b.f([x, _], "s") := x'), ['a.b.f([x, $0], "s") := x :- true']);
    assert.deepEqual(kinds('f(x) := 1'), ['function']);
  });

  it('chains else links with values, bodies, or neither', () => {
    assert.deepEqual(rules('p := 1 if { false } else := 2 if { true } else := 3'), [
      'p := 1 :- false else p := 2 :- true else p := 3 :- true',
    ]);
    assert.deepEqual(rules('p if false else if true'), ['p = true :- false else p = true :- true']);
    assert.deepEqual(rules('p := 1 if false\nelse = 2 if x'), ['p := 1 :- false else p = 2 :- x']);
  });

  it('copies function arguments into else links with fresh wildcards', () => {
    const [r] = mod('f(_, x) := 1 if x else := 2').rules;
    assert.equal(renderRule(r!), 'f($0, x) := 1 :- x else f($1, x) := 2 :- true');
    assert.equal(r?.else?.kind, 'function');
  });

  it('refuses else on multi-value rules and on rules with variables in the head', () => {
    assert.throws(() => mod('p contains 1 if false else := 2'), /else keyword cannot be used on multi-value rules/);
    assert.throws(() => mod('p[x] := 1 if x := 1 else := 2'), /else keyword cannot be used on rules with variables in head/);
  });
});

describe('Rego rules: v1 requirements', () => {
  it('requires a value or a body', () => {
    assert.throws(() => mod('p'), /rule must have value assignment and\/or body declaration/);
    assert.throws(() => mod('f(x)'), /function must have value assignment and\/or body declaration/);
    assert.throws(() => mod('a.b.c'), /rule must have value assignment and\/or body declaration/);
  });

  it('names functions in the if requirement', () => {
    assert.throws(() => mod('f(x) := 1 { x }'), /`if` keyword is required before function body/);
  });
});

describe('Rego rules: if followed by braces', () => {
  it('reads `if {}` as the empty object and `if {…}` with a key as an object expression', () => {
    assert.deepEqual(rules('p if {}'), ['p = true :- {}']);
    assert.deepEqual(rules('p if {"a": 1}'), ['p = true :- {"a": 1}']);
    assert.deepEqual(rules('p if {1} == {1}'), ['p = true :- equal({1}, {1})']);
    assert.deepEqual(rules('p if {\n  x := 1\n  x == 1\n}'), ['p = true :- assign(x, 1); equal(x, 1)']);
  });
});

describe('Rego imports: OPA restrictions', () => {
  it('refuses malformed future and rego imports', () => {
    assert.throws(() => parseModule('package p\nimport future.foo', 'm.rego'), /invalid import, must be `future.keywords`/);
    assert.throws(() => parseModule('package p\nimport future.keywords.nope', 'm.rego'), /unexpected keyword, must be one of \[and contains every if in not or\]/);
    assert.throws(() => parseModule('package p\nimport future.keywords.and', 'm.rego'), /import future.keywords.and is not supported by Portcullis/);
    assert.throws(() => parseModule('package p\nimport future.keywords as k', 'm.rego'), /`future` imports cannot be aliased/);
    assert.throws(() => parseModule('package p\nimport rego.v3', 'm.rego'), /invalid import `rego.v3`, must be one of: `rego.v1`, `rego.v2`/);
    assert.throws(() => parseModule('package p\nimport rego.v2', 'm.rego'), /import rego.v2 is not supported by Portcullis/);
  });

  it('refuses an unaliased import ending with a keyword, and accepts it aliased', () => {
    assert.throws(() => parseModule('package p\nimport data.foo.if', 'm.rego'), /must not end with a keyword, got: if/);
    assert.doesNotThrow(() => parseModule('package p\nimport data.foo.if as cond\nimport data.foo.else.bar', 'm.rego'));
  });
});

describe('Rego rules: else needs a body before it', () => {
  it('refuses else after a rule without a body, as OPA does', () => {
    assert.throws(() => mod('p := 1 else := 2'), /unexpected else keyword/);
    assert.throws(() => mod('p := 1\nelse := 2'), /unexpected else keyword/);
  });
});
