import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPortcullisError } from '../../../../src/errors.ts';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';

/** The error a source raises: its code, message and details. */
function errorOf(src: string, file = 'policy.rego'): { code: string; message: string; details: Record<string, unknown> } {
  try {
    parseModule(src, file);
  } catch (e) {
    assert.ok(isPortcullisError(e), `not a PortcullisError: ${String(e)}`);
    return { code: e.code, message: e.message, details: e.details ?? {} };
  }
  assert.fail('expected a parse error');
}

describe('Rego parse errors', () => {
  it('carry code REGO_PARSE, file:row:col and OPA wording', () => {
    const e = errorOf('package a\n\np if {\n  x := \n}\n');
    assert.equal(e.code, 'PORTCULLIS_REGO_PARSE');
    assert.equal(e.message, 'policy.rego:5:1: rego_parse_error: unexpected } token');
    assert.equal(e.details['file'], 'policy.rego');
    assert.equal(e.details['row'], 5);
    assert.equal(e.details['col'], 1);
    assert.ok(Array.isArray(e.details['errors']));
  });

  it('name the token found and what was expected', () => {
    assert.match(errorOf('package foo.').message, /^policy\.rego:1:13: rego_parse_error: unexpected eof token: expected ident$/);
    assert.match(errorOf('package p\nx := [1, 2').message, /:2:11: rego_parse_error: unexpected eof token: expected "," or "]"$/);
    assert.match(errorOf('package p\np := ').message, /:2:6: .*unexpected eof token: expected rule value term/);
    assert.match(errorOf('package p\np if { x y }').message, /:2:10: .*unexpected ident token: expected \\n or ; or }/);
    assert.match(errorOf('package p\np if { every x in xs {} }').message, /:2:23: .*found empty body/);
    assert.match(errorOf('package p\np if { x := 1 + }').message, /:2:17: .*unexpected } token/);
    assert.match(errorOf('package p\np := {"a" 1}').message, /:2:11: .*unexpected number token: non-terminated set/);
  });

  it('name keywords as keywords', () => {
    assert.match(errorOf('package p\np if { x := if }').message, /:2:13: .*unexpected if keyword/);
  });

  it('report lexical errors where they occur', () => {
    assert.match(errorOf('package p\np := "abc\n').message, /:2:6: rego_parse_error: non-terminated string/);
    assert.match(errorOf('package p\np := "\\q"').message, /:2:6: rego_parse_error: illegal string literal/);
    assert.match(errorOf('package p\np := 1 ^ 2').message, /:2:8: rego_parse_error: illegal token/);
    assert.match(errorOf('package p\np := 007').message, /:2:6: .*expected number without leading zero/);
  });

  it('count columns from 1 with a tab as one column', () => {
    const e = errorOf('package p\np if {\n\tx := )\n}');
    assert.equal(e.details['row'], 3);
    assert.equal(e.details['col'], 7);
  });

  it('use the file name given', () => {
    assert.match(errorOf('package', 'dir/authz.rego').message, /^dir\/authz\.rego:1:8: /);
  });
});

describe('Rego source text', () => {
  it('accepts CRLF line ends and a leading byte-order mark', () => {
    const m = parseModule('\ufeffpackage p\r\n\r\np if {\r\n  input.x # note\r\n  input.y\r\n}\r\n', 'crlf.rego');
    assert.equal(m.rules[0]?.body.length, 2);
    assert.equal(m.comments[0]?.text, ' note');
    assert.equal(m.package.loc.col, 1);
  });
});

describe('Rego lexical errors', () => {
  it('word malformed numbers and stray characters as OPA does', () => {
    assert.match(errorOf('package p\nx := 1.').message, /:2:6: rego_parse_error: expected fraction/);
    assert.match(errorOf('package p\nx := 1e').message, /:2:6: rego_parse_error: expected exponent/);
    assert.match(errorOf('package p\nx := 4data').message, /:2:6: rego_parse_error: illegal number format/);
    assert.match(errorOf('package p\nx := !y').message, /:2:6: rego_parse_error: illegal ! character/);
    assert.match(errorOf('package p\nx := $y').message, /:2:6: rego_parse_error: illegal \$ character/);
  });
});
