import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';

const mod = (body: string) => parseModule(`package p\n${body}\n`, 'p.rego');

describe('Rego v1 module checks', () => {
  it('refuse an import that shadows another', () => {
    assert.throws(() => mod('import data.a.x\nimport data.b.x'), {
      code: 'PORTCULLIS_REGO_COMPILE',
      message: 'p.rego:3:1: rego_compile_error: import must not shadow import data.a.x',
    });
    assert.throws(() => mod('import data.a as y\nimport input.y'), /import must not shadow import data\.a as y/);
    assert.doesNotThrow(() => mod('import rego.v1\nimport future.keywords.in\nimport future.keywords.if\nimport data.a.x as z\nimport data.b.x'));
  });

  it('refuse rules named input or data', () => {
    assert.throws(() => mod('input := 1'), /p\.rego:2:1: rego_compile_error: rules must not shadow input \(use a different rule name\)/);
    assert.throws(() => mod('data.x := 1'), /rules must not shadow data/);
  });

  it('refuse input and data as function arguments and as := targets, nested bodies included', () => {
    assert.throws(() => mod('f(input) := 1'), /p\.rego:2:3: rego_compile_error: args must not shadow input/);
    assert.throws(() => mod('p if { data := 1 }'), /p\.rego:2:8: rego_compile_error: variables must not shadow data \(use a different variable name\)/);
    assert.throws(() => mod('p := [x | input := 1; x := input]'), /variables must not shadow input/);
    assert.throws(() => mod('p if { every x in [1] { input := x } }'), /variables must not shadow input/);
  });

  it('allow unification with input and refs below the roots', () => {
    assert.doesNotThrow(() => mod('p if { input = {"a": 1} }\nq := input.x\nr if { x := data.q }'));
  });

  it('report every finding in details, the first in the message', () => {
    try {
      mod('input := 1\ndata := 2');
      assert.fail('expected an error');
    } catch (e) {
      const details = (e as { details: { errors: unknown[]; row: number } }).details;
      assert.equal(details.errors.length, 2);
      assert.equal(details.row, 2);
    }
  });
});
