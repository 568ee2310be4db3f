import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from './helpers.ts';

async function value(src: string | string[], opts: { input?: unknown; data?: unknown } = {}, ep = 'test/p'): Promise<unknown> {
  const r = await evaluate(Array.isArray(src) ? src : [src], [ep], opts);
  return r[ep];
}

describe('planned policies evaluated through opa-wasm', () => {
  it('complete rules, default and else', async () => {
    const src = `package test
default p := "none"
p := "big" if input.n > 10
else := "small" if input.n > 0
`;
    assert.equal(await value(src, { input: { n: 20 } }), 'big');
    assert.equal(await value(src, { input: { n: 5 } }), 'small');
    assert.equal(await value(src, { input: { n: -1 } }), 'none');
  });

  it('partial sets and objects, some-in and comprehensions', async () => {
    const src = `package test
s contains x if {
	some x in input.xs
	x > 1
}
o[k] := v if {
	some k, v in input.m
	v != 0
}
p := {"s": s, "o": o, "a": [w | some y in input.xs; w := y * 2], "n": count({z | some z in input.xs})}
`;
    assert.deepEqual(await value(src, { input: { xs: [1, 2, 3, 2], m: { a: 1, b: 0 } } }), {
      s: [2, 3],
      o: { a: 1 },
      a: [2, 4, 6, 4],
      n: 3,
    });
  });

  it('functions with several definitions, not, every and x in xs', async () => {
    const src = `package test
f(x) := "neg" if x < 0
f(x) := "pos" if x > 0
f(0) := "zero"
all_pos if every x in input.xs { x > 0 }
p := {"f": [f(-1), f(0), f(2)], "all": all_pos, "none": not_any, "in": 2 in input.xs}
not_any if not 9 in input.xs
`;
    assert.deepEqual(await value(src, { input: { xs: [1, 2] } }), { f: ['neg', 'zero', 'pos'], all: true, none: true, in: true });
  });

  it('unification with patterns on both sides and reordered bodies', async () => {
    const src = `package test
p := [a, b, c] if {
	c == 3
	[a, {"k": b}] = [1, {"k": 2}]
	[_, c] = input.pair
}
`;
    assert.deepEqual(await value(src, { input: { pair: [0, 3] } }), [1, 2, 3]);
  });

  it('refs across virtual and base documents, and packages as objects', async () => {
    const srcs = [
      `package a.b
x := 1
s contains "v"
`,
      `package test
p := data.a
q := [k | some k, _ in data.a.b]
r := data.a.base.y
`,
    ];
    const data = { a: { base: { y: 5 } } };
    const r = await evaluate(srcs, ['test/p', 'test/q', 'test/r', 'a'], { data });
    assert.deepEqual(r['test/p'], { b: { x: 1, s: ['v'] }, base: { y: 5 } });
    assert.deepEqual(r['test/q'], ['s', 'x']);
    assert.equal(r['test/r'], 5);
    assert.deepEqual(r.a, { b: { x: 1, s: ['v'] }, base: { y: 5 } });
  });

  it('with replaces input, data and functions for one expression', async () => {
    const src = `package test
q := input.a
d := data.cfg.limit
f(x) := x + 1
g(x) := x * 10
p := [a, b, c, input.a] if {
	a := q with input.a as 7
	b := d with data.cfg.limit as 3
	c := f(1) with f as g
}
`;
    assert.deepEqual(await value(src, { input: { a: 1 }, data: { cfg: { limit: 100 } } }), [7, 3, 10, 1]);
  });

  it('imports alias data and input refs', async () => {
    const srcs = [
      `package lib
double(x) := 2 * x
`,
      `package test
import data.lib
import input.user as u
p := lib.double(u.n)
`,
    ];
    assert.equal(await value(srcs, { input: { user: { n: 21 } } }), 42);
  });

  it('conflicting complete values are an evaluation error', async () => {
    const src = `package test
p := 1 if input.a
p := 2 if input.a
`;
    await assert.rejects(() => value(src, { input: { a: true } }), /conflict|multiple outputs/i);
  });

  it('function else chains, default functions and print', async () => {
    const src = `package test
default size(_) := "unknown"
size(n) := "big" if {
	print("n is", n)
	n > 100
} else := "small" if n > 0
p := [size(500), size(5), size(-1)]
`;
    assert.deepEqual(await value(src), ['big', 'small', 'unknown']);
  });

  it('ref heads with several variables build nested objects', async () => {
    const src = `package test
p.byKind[k][name] := n if {
	some item in input.items
	k := item.kind
	name := item.name
	n := count(name)
}
p.fixed := 1
`;
    assert.deepEqual(await value(src, { input: { items: [{ kind: 'a', name: 'xy' }, { kind: 'b', name: 'z' }] } }), {
      byKind: { a: { xy: 2 }, b: { z: 1 } },
      fixed: 1,
    });
  });

  it('iterates packages with a variable key and replaces rules with data', async () => {
    const srcs = [
      `package rules.one
allow := input.a == 1
`,
      `package rules.two
allow := input.a == 2
`,
      `package test
p := {name | some name; data.rules[name].allow}
q := x if x := data.rules.one.allow with data.rules.one.allow as "mocked"
`,
    ];
    const r = await evaluate(srcs, ['test/p', 'test/q'], { input: { a: 2 } });
    assert.deepEqual(r['test/p'], ['two']);
    assert.equal(r['test/q'], 'mocked');
  });

  it('reads an absent input as undefined', async () => {
    const src = `package test
default allow := false
allow if input.user == "admin"
p := {"allow": allow, "no_user": no_user}
no_user if not input.user
`;
    assert.deepEqual(await value(src), { allow: false, no_user: true });
  });

  it('renders template strings, undefined parts included', async () => {
    const src = `package test
p := $"user {input.user} has {count(input.roles)} roles, {input.missing}, {1 + 1}"
`;
    assert.equal(await value(src, { input: { user: 'ann', roles: ['a', 'b'] } }), 'user ann has 2 roles, <undefined>, 2');
  });

  it('with replaces builtins and functions in the rules an expression reaches', async () => {
    const src = `package test
n := count(input.xs)
double(x) := x * 2
twice := double(n)
fake_count(_) := 100
triple(x) := x * 3
p := [a, b, c] if {
	a := twice with count as fake_count
	b := twice with double as triple
	c := twice
}
`;
    assert.deepEqual(await value(src, { input: { xs: [1, 2] } }), [200, 6, 4]);
  });
});
