// Declared variables must be used, as Rego v1 requires (`opa eval` v1.22.4
// refuses each module refused here with `declared var x unused`).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from './helpers.ts';

const refused = (body: string, head = 'p'): void => {
  assert.throws(
    () => plan([`package test\n\n${head} if {\n\t${body.split('; ').join('\n\t')}\n}\n`], ['test']),
    (e: { details?: { opaCode?: string }; message: string }) => e.details?.opaCode === 'rego_compile_error' && /declared var \w+ unused/.test(e.message),
    body,
  );
};
const accepted = (body: string, head = 'p'): void => {
  assert.doesNotThrow(() => plan([`package test\n\n${head} if {\n\t${body.split('; ').join('\n\t')}\n}\n`], ['test']), body);
};

describe('declared variables', () => {
  it('a bare `some x` that nothing else uses is refused', () => {
    refused('some x; true');
    refused('some x, y; input.a[x]');
    refused('v := [1 | some z; true]; v');
  });

  it('every key and value must appear in its body', () => {
    refused('every x in input.a { true }');
    refused('every k, x in input.a { x }');
    refused('every x in input.a { every y in x { true } }');
  });

  it('used in the body, in the head, in the comprehension term, or a wildcard: accepted', () => {
    accepted('some x; input.a[x]');
    accepted('some x; input.a[x] == 1', 'q[x]');
    accepted('v := [z | some z; z = input.a[_]]; v');
    accepted('some x in input.a');
    accepted('every _, x in input.a { x }');
    accepted('every k, x in input.a { k < x }');
  });
});
