import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isPortcullisError } from '../../../../src/errors.ts';
import { plan } from './helpers.ts';

function compileErrorOf(sources: string[], entrypoint = 'test/p'): { code: string; opaCode: unknown; message: string; row: unknown; col: unknown } {
  try {
    plan(sources, [entrypoint]);
  } catch (e) {
    if (!isPortcullisError(e)) throw e;
    return { code: e.code, opaCode: e.details?.opaCode, message: e.message, row: e.details?.row, col: e.details?.col };
  }
  assert.fail('expected a compile error');
}

describe('planner compile errors', () => {
  it('runs the type check first: 1 + "a" is a rego_type_error with its position', () => {
    const e = compileErrorOf(['package test\n\np if {\n\tx := 1 + "a"\n\tx > 0\n}\n']);
    assert.equal(e.code, ErrorCodes.REGO_TYPE);
    assert.equal(e.opaCode, 'rego_type_error');
    assert.match(e.message, /^m0\.rego:4:7: rego_type_error: plus: invalid argument\(s\)/);
    assert.deepEqual([e.row, e.col], [4, 7]);
  });

  it('names an unsafe variable with its position', () => {
    const e = compileErrorOf(['package test\n\np if {\n\tx > 1\n}\n']);
    assert.equal(e.code, ErrorCodes.REGO_UNSAFE_VAR);
    assert.equal(e.opaCode, 'rego_unsafe_var_error');
    assert.match(e.message, /m0\.rego:4:\d+: rego_unsafe_var_error: var x is unsafe/);
    assert.equal(e.row, 4);
  });

  it('reports an unsafe head variable', () => {
    const e = compileErrorOf(['package test\n\np := y if input.a\n']);
    assert.equal(e.code, ErrorCodes.REGO_UNSAFE_VAR);
    assert.match(e.message, /var y is unsafe/);
  });

  it('reports recursion through rules', () => {
    const e = compileErrorOf(['package test\n\np if q\n\nq if p\n']);
    assert.equal(e.code, ErrorCodes.REGO_RECURSION);
    assert.equal(e.opaCode, 'rego_recursion_error');
  });

  it('reports recursion through a package prefix', () => {
    const e = compileErrorOf(['package test\n\np if data.test.q\n\nq := count(data.test)\n']);
    assert.equal(e.code, ErrorCodes.REGO_RECURSION);
  });

  it('reports conflicting rule kinds', () => {
    const e = compileErrorOf(['package test\n\np := 1\n\np contains 2\n']);
    assert.equal(e.code, ErrorCodes.REGO_TYPE);
    assert.match(e.message, /rego_type_error: conflicting rules data\.test\.p found/);
  });

  it('reports functions defined with different arities', () => {
    const e = compileErrorOf(['package test\n\nf(x) := 1\n\nf(x, y) := 2\n\np := f(1)\n']);
    assert.equal(e.code, ErrorCodes.REGO_TYPE);
  });

  it('reports an unknown function as undefined', () => {
    const e = compileErrorOf(['package test\n\np := no_such_builtin(1)\n']);
    assert.equal(e.code, ErrorCodes.REGO_UNSUPPORTED_BUILTIN);
    assert.equal(e.opaCode, 'rego_type_error');
    assert.match(e.message, /undefined function no_such_builtin/);
  });

  it('reports a call with the wrong number of arguments', () => {
    const e = compileErrorOf(['package test\n\nf(x) := x\n\np := f(1, 2)\n']);
    assert.equal(e.code, ErrorCodes.REGO_TYPE);
    assert.match(e.message, /arity/);
  });

  it('accepts an unsafe-looking body that reordering makes safe', () => {
    assert.doesNotThrow(() => plan(['package test\n\np if {\n\ty > 1\n\ty = input.x\n}\n'], ['test/p']));
  });

  it('reports recursion through functions, naming the cycle', () => {
    const e = compileErrorOf(['package test\n\nf(x) := g(x)\n\ng(x) := f(x)\n\np := f(1)\n']);
    assert.equal(e.code, ErrorCodes.REGO_RECURSION);
    assert.match(e.message, /data\.test\.f -> data\.test\.g -> data\.test\.f|data\.test\.g -> data\.test\.f -> data\.test\.g/);
  });

  it('reports a variable assigned twice in one body', () => {
    const e = compileErrorOf(['package test\n\np if {\n\tx := 1\n\tx := 2\n}\n']);
    assert.equal(e.code, ErrorCodes.REGO_COMPILE);
    assert.equal(e.opaCode, 'rego_compile_error');
    assert.match(e.message, /var x assigned above/);
    assert.equal(e.row, 5);
  });

  it('reports an undefined function of another package', () => {
    const e = compileErrorOf(['package test\n\nimport data.lib\n\np := lib.nope(1)\n', 'package lib\n\nyes(x) := x\n']);
    assert.equal(e.code, ErrorCodes.REGO_TYPE);
    assert.match(e.message, /undefined function data\.lib\.nope/);
  });

  it('does not see recursion in a ref whose variable key cannot reach the rule', () => {
    const srcs = ['package test\n\np := data[k].allow if k := "other"\n', 'package other\n\nallow := true\n'];
    assert.doesNotThrow(() => plan(srcs, ['test/p']));
  });

  it('refuses a local variable named input', () => {
    const e = compileErrorOf(['package test\n\np if {\n\tinput := 1\n}\n']);
    assert.equal(e.code, ErrorCodes.REGO_COMPILE);
    assert.match(e.message, /must not shadow input/);
  });

  it('refuses an entrypoint that names no rule or package', () => {
    const e = compileErrorOf(['package test\n\np := 1\n'], 'test/nope');
    assert.equal(e.code, ErrorCodes.REGO_COMPILE);
    assert.match(e.message, /entrypoint test\/nope does not refer to a rule or package/);
    assert.doesNotThrow(() => plan(['package test\n\np := {"a": 1}\n'], ['test/p/a', 'test', 'test/p']));
  });
});
