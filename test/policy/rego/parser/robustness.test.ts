import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPortcullisError } from '../../../../src/errors.ts';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';

const SAMPLES = [
  `package authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tinput.user.role == "admin"\n\tnot deny with input.x as 1\n}\n\ndeny contains msg if {\n\tsome i, item in input.items\n\titem.price * 2 > 100\n\tmsg := sprintf("item %d too dear", [i])\n}\n`,
  `package lib\n\nf(x, _) := y if { y := {k: v | some k, v in x; v != null} } else := {}\n\nobj[k] := count([1 | input.a[k][_]]) if some k in object.keys(input.a)\n\nt := $"user {input.user} has {count(input.roles)} roles"\n\nevery_ok if every x in [1, 2] { x > 0 }\n`,
  "package raw\n\np := `a\\nb` if { x := {1, 2} & {2}; y := [x | true][0] }\nq := -1.5e3 + .5\n",
];

/** A small deterministic generator so that a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

const PIECES = ['{', '}', '[', ']', '(', ')', ',', ';', ':=', '=', '|', '.', '"', '`', '$"', '\\', '\n', 'if', 'else', 'not', 'some', 'every', 'in', 'with', 'as', 'contains', '_', '1', '#', '\u00e9'];

describe('Rego parser robustness', () => {
  it('answers every mangled module with a located REGO_PARSE or REGO_COMPILE error, or a module', () => {
    const rnd = prng(42);
    let parsed = 0;
    let refused = 0;
    for (let i = 0; i < 1500; i++) {
      let src = SAMPLES[i % SAMPLES.length]!;
      for (let e = 0; e < 1 + Math.floor(rnd() * 3); e++) {
        const at = Math.floor(rnd() * (src.length + 1));
        src = rnd() < 0.5
          ? src.slice(0, at) + src.slice(at + 1 + Math.floor(rnd() * 4))
          : src.slice(0, at) + PIECES[Math.floor(rnd() * PIECES.length)] + src.slice(at);
      }
      try {
        parseModule(src, 'fuzz.rego');
        parsed++;
      } catch (e) {
        assert.ok(isPortcullisError(e), `${String(e)} for ${JSON.stringify(src)}`);
        assert.ok(e.code === 'PORTCULLIS_REGO_PARSE' || e.code === 'PORTCULLIS_REGO_COMPILE', e.code);
        assert.equal(typeof e.details?.['row'], 'number');
        assert.match(e.message, /^fuzz\.rego:\d+:\d+: rego_(parse|compile)_error: /);
        refused++;
      }
    }
    assert.ok(parsed > 0 && refused > 0);
  });

  it('refuses deep nesting with an error instead of exhausting the stack', () => {
    const deep = `package p\nx := ${'['.repeat(5000)}${']'.repeat(5000)}`;
    assert.throws(() => parseModule(deep, 'deep.rego'), /max parsing recursion depth reached/);
    const ok = `package p\nx := ${'['.repeat(100)}${']'.repeat(100)}`;
    assert.doesNotThrow(() => parseModule(ok, 'ok.rego'));
  });
});
