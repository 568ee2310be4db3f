import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkTypes, findTypeErrors } from '../../../../src/policy/rego/check/index.ts';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';

const findings = (...sources: string[]): string[] =>
  findTypeErrors(sources.map((s, i) => parseModule(`package p\n${s}\n`, `m${i}.rego`))).map(
    (f) => `${f.loc.row}:${f.loc.col} ${f.message}`,
  );

describe('Rego type check: builtin arguments', () => {
  it('refuses literals of a type the builtin cannot take', () => {
    assert.deepEqual(findings('x := count(1)'), [
      '2:6 count: invalid argument(s): have (number), want (any<set[any], array[any], object[any: any], string>)',
    ]);
    assert.deepEqual(findings('x := "a" + "b"'), ['2:6 plus: invalid argument(s): have (string, string), want (number, number)']);
    assert.match(findings('msg := sprintf("%s", "x")')[0]!, /sprintf: invalid argument\(s\): have \(string, string\)/);
    assert.match(findings('s := concat(",", [1, 2])')[0]!, /concat: invalid argument\(s\): have \(string, array\[number\]\)/);
  });

  it('follows := and some-in bindings, builtin results and nesting', () => {
    assert.equal(findings('p if { x := 1; startswith(x, "a") }').length, 1);
    assert.equal(findings('p if { xs := split("a,b", ","); some x in xs; x > 1; abs(x) }').length, 1);
    assert.equal(findings('p if { n := count([1]); upper(n) }').length, 1);
    assert.equal(findings('p := [y | some x in [1, 2]; y := lower(x)]').length, 1);
    assert.equal(findings('p if { x := 1; y := x; z := y; lower(z) }').length, 1);
  });

  it('every bodies: as OPA, only the comprehensions in them are checked (opa eval v1.22.4 accepts the rest)', () => {
    assert.deepEqual(findings('p if every k, v in ["a"] { upper(k) == v }'), []);
    assert.deepEqual(findings('p if every x in input.a { count(1) == x }'), []);
    assert.equal(findings('p if every x in input.a { y := [z | z := count(1)]; y == x }').length, 1);
    assert.equal(findings('p if every x in input.a { every y in x { {z | z := lower(1)} == y } }').length, 1);
    assert.equal(findings('p if every x in count(1) { x }').length, 1);
  });

  it('some x in c reads c[k]: a variable, ref or call of scalar type is refused, a scalar literal is not (as OPA)', () => {
    assert.match(findings('p if { y := 1; some x in y }')[0]!, /undefined ref: y\[_\]/);
    assert.equal(findings('p if { some x in count([]) }').length, 1);
    assert.equal(findings('p if { some x in (1 < 2) }').length, 1);
    assert.equal(findings('p if { y := [1]; some k, x in y[0] }').length, 1);
    assert.deepEqual(findings('p if { some x in true }'), []);
    assert.deepEqual(findings('p if { y := [1]; some x in y }'), []);
    assert.deepEqual(findings('p if { y := 1; every x in y { x } }'), []);
  });

  it('with values are checked, and the expression with the builtins\' own types even under a mock (as OPA)', () => {
    assert.match(findings('p if { true with input.m as "a" - 2.5 }')[0]!, /minus: invalid argument\(s\)/);
    assert.match(findings('p if { count(1) with count as mock }\nmock(_) := 1')[0]!, /count: invalid argument\(s\)/);
    assert.match(findings('p if { lower(1) with lower as "x" }')[0]!, /lower: invalid argument\(s\)/);
    assert.deepEqual(findings('p if { count(input.x) with count as mock }\nmock(_) := 1'), []);
  });

  it('x in xs is a boolean', () => {
    assert.match(findings('p := ("a" in []) - 2.5')[0]!, /minus: invalid argument\(s\): have \(boolean, number\)/);
  });

  it('reports calls written as statements and with an output argument', () => {
    assert.deepEqual(findings('p if { lower(1, x) }'), ['2:8 lower: invalid argument(s): have (number), want (string)']);
  });

  it('accepts whatever is not known: input, base data, function arguments, unification', () => {
    assert.deepEqual(
      findings(
        'r := input.r',
        'a if { count(input.x) > 0 }\nb if count(data.q)\nc if count(r)\nf(x) := lower(x)\nd if { x = 1; lower(x) }\ne if { some x; lower(x) }',
      ),
      [],
    );
  });

  it('accepts matching types, unions, and empty collections', () => {
    assert.deepEqual(
      findings(
        'a := count("abc") + count([]) + count({}) + count(set())\nb := {1, 2} - {1}\nc := concat(",", {"a"})\nd := sprintf("%v", [1])\ne := glob.match("*", null, "x")',
      ),
      [],
    );
  });

  it('leaves builtins shadowed by rules or imports alone', () => {
    assert.deepEqual(findings('count(x) := 1\np := count(1)'), []);
    assert.deepEqual(findings('import data.lib.upper\np := upper(1)'), []);
  });
});

describe('Rego type check: refs', () => {
  it('refuses refs into values known to be scalars', () => {
    assert.deepEqual(findings('p if { x := 1; x.y }'), ['2:16 undefined ref: x.y (x has type number)']);
    assert.equal(findings('p if { x := count([]); x[0] }').length, 1);
  });

  it('accepts refs into collections and unknown values', () => {
    assert.deepEqual(findings('p if { x := {"a": [1]}; x.a[0] > 0; y := input; y.z }'), []);
  });
});

describe('Rego type check: rules and functions', () => {
  it('types rules from their values, across modules of the package and through data refs and imports', () => {
    assert.equal(findings('r := 1\nc if count(r)').length, 1);
    assert.equal(findings('r := 1', 'c if count(r)').length, 1);
    assert.equal(findings('r := 1', 'c if count(data.p.r)').length, 1);
    assert.deepEqual(findings('r := 1\nc if data.p.r.x'), ['3:6 undefined ref: data.p.r.x (data.p.r has type number)']);
    assert.equal(
      findTypeErrors([
        parseModule('package lib\nn := 5', 'lib.rego'),
        parseModule('package app\nimport data.lib.n\nc if upper(n)', 'app.rego'),
      ]).length,
      1,
    );
  });

  it('types sets, objects, defaults, else values and function results', () => {
    assert.equal(findings('s contains 1 if true\nc if upper(s)').length, 1);
    assert.equal(findings('o[k] := 1 if some k in ["a"]\nc if sum(o)').length, 1);
    assert.equal(findings('default d := false\nd if input.x\nc if abs(d)').length, 1);
    assert.equal(findings('f(x) := 1 if x\nc if upper(f(true))').length, 1);
    assert.equal(findings('g(x) := "a" if x else := 2\nc if upper(g(true))').length, 0);
  });

  it('treats unknown and self-dependent rules as any', () => {
    assert.deepEqual(findings('r := input.r\nc if count(r)'), []);
    assert.deepEqual(findings('a := b\nb := a\nc if count(a)'), []);
    assert.deepEqual(findings('a.b.c := 1\nc if count(a)'), []);
  });
});

describe('checkTypes', () => {
  it('throws REGO_TYPE naming the first finding, with every finding in details', () => {
    const m = parseModule('package p\na := lower(1)\nb := upper(2)\n', 'types.rego');
    assert.throws(() => checkTypes([m]), (e: unknown) => {
      const err = e as { code: string; message: string; details: { errors: unknown[]; opaCode: string } };
      assert.equal(err.code, 'PORTCULLIS_REGO_TYPE');
      assert.match(err.message, /^types\.rego:2:6: rego_type_error: lower: invalid argument\(s\)/);
      assert.equal(err.details.errors.length, 2);
      assert.equal(err.details.opaCode, 'rego_type_error');
      return true;
    });
  });

  it('passes well-typed modules', () => {
    assert.doesNotThrow(() => checkTypes([parseModule('package p\nallow if lower(input.user) == "alice"\n', 'ok.rego')]));
  });
});
