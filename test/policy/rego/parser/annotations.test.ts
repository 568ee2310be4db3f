import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { annotationJson } from '../../../../src/policy/rego/parser/annotations.ts';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';

const SRC = `# METADATA
# description: The test suite
package testing

import rego.v1

# METADATA
# title: Testing annotations
# authors:
# - The contributors
# - Jane Doe <jane@example.com>
# related_resources:
# - https://example.com/doc
# - ref: https://example.com/other
#   description: more
# custom:
#   severity: high
p := 1

# just a comment
q := 2

# METADATA
# scope: document
# entrypoint: true
r := 3
`;

describe('Rego METADATA annotations', () => {
  const m = parseModule(SRC, 'a.rego');

  it('attach each block to the package or rule below it, with its default scope', () => {
    assert.equal(m.annotations?.length, 3);
    assert.deepEqual(m.package.annotations?.map(annotationJson), [{ scope: 'package', description: 'The test suite' }]);
    assert.deepEqual(m.rules[0]?.annotations?.map(annotationJson), [
      {
        scope: 'rule',
        title: 'Testing annotations',
        authors: [{ name: 'The contributors' }, { name: 'Jane Doe', email: 'jane@example.com' }],
        related_resources: [{ ref: 'https://example.com/doc' }, { ref: 'https://example.com/other', description: 'more' }],
        custom: { severity: 'high' },
      },
    ]);
    assert.equal(m.rules[1]?.annotations, undefined);
    assert.deepEqual(m.rules[2]?.annotations?.map(annotationJson), [{ scope: 'document', entrypoint: true }]);
    assert.equal(m.annotations?.[1]?.loc.row, 7);
  });

  it('keep METADATA lines among the comments', () => {
    assert.ok(m.comments.some((c) => c.text === ' METADATA'));
  });

  it('refuse malformed blocks and misplaced scopes as parse errors', () => {
    const bad = (src: string): string => {
      try {
        parseModule(src, 'b.rego');
      } catch (e) {
        return (e as Error).message;
      }
      return 'parsed';
    };
    assert.match(bad('package p\n# METADATA\n# title: [x\np := 1'), /^b\.rego:3:1: rego_parse_error: yaml: /);
    assert.match(bad('package p\n# METADATA\np := 1'), /b\.rego:2:1: rego_parse_error: expected METADATA block, found whitespace/);
    assert.match(bad('package p\n# METADATA\n# scope: package\np := 1'), /annotation scope 'package' must be applied to package \(have rule\)/);
    assert.match(bad('# METADATA\n# scope: rule\npackage p'), /annotation scope 'rule' must be applied to rule \(have package\)/);
    assert.match(bad('package p\n# METADATA\n# scope: everything\np := 1'), /invalid annotation scope 'everything'/);
    assert.match(bad('package p\n# METADATA\n# title: x\nimport data.a'), /invalid annotation scope 'import'/);
    assert.match(bad('package p\n# METADATA\n# entrypoint: yes please\np := 1'), /entrypoint must be a boolean/);
  });
});
