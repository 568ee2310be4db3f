import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Location } from '../../../../src/policy/rego/ast.ts';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';

const at = (l: Location | undefined): string => (l === undefined ? 'none' : `${l.file}:${l.row}:${l.col}`);

const SRC = `package authz

import rego.v1

default allow := false

allow if {
	input.user == "alice"
	not deny with input.x as 1
}

deny contains msg if {
	some x in input.items
	msg := sprintf("%v", [x])
}
`;

describe('Rego source locations', () => {
  const m = parseModule(SRC, 'authz.rego');

  it('locate the package, imports and rules', () => {
    assert.equal(at(m.package.loc), 'authz.rego:1:1');
    assert.equal(at(m.imports[0]?.loc), 'authz.rego:3:1');
    assert.deepEqual(m.rules.map((r) => at(r.loc)), ['authz.rego:5:1', 'authz.rego:7:1', 'authz.rego:12:1']);
    assert.equal(at(m.rules[0]?.head.loc), 'authz.rego:5:9');
    assert.equal(at(m.rules[0]?.head.value?.loc), 'authz.rego:5:18');
  });

  it('locate expressions at their first token, negation included', () => {
    const body = m.rules[1]!.body;
    assert.deepEqual(body.map((e) => at(e.loc)), ['authz.rego:8:2', 'authz.rego:9:2']);
    assert.equal(at(body[1]!.with[0]?.loc), 'authz.rego:9:11');
    assert.equal(at(body[1]!.with[0]?.target.loc), 'authz.rego:9:16');
  });

  it('locate terms, infix calls at their left operand', () => {
    const [cmp] = m.rules[1]!.body;
    assert.equal(cmp?.type, 'call');
    if (cmp?.type !== 'call') return;
    assert.equal(at(cmp.operator.loc), 'authz.rego:8:13');
    assert.equal(at(cmp.args[0]?.loc), 'authz.rego:8:2');
    assert.equal(at(cmp.args[1]?.loc), 'authz.rego:8:16');
    const ref = cmp.args[0];
    assert.equal(ref?.type === 'ref' && at(ref.path[0]?.loc), 'authz.rego:8:8');
  });

  it('locate some-in, the key of a contains rule, and call arguments', () => {
    const rule = m.rules[2]!;
    assert.equal(at(rule.head.key?.loc), 'authz.rego:12:15');
    assert.equal(at(rule.body[0]?.loc), 'authz.rego:13:2');
    const assign = rule.body[1];
    assert.equal(assign?.type === 'call' && assign.args[1]?.type === 'call' && at(assign.args[1].args[1]?.loc), 'authz.rego:14:23');
  });

  it('count offsets in the source text', () => {
    assert.equal(m.rules[1]!.loc.offset, SRC.indexOf('allow if'));
  });
});

describe('Rego source columns', () => {
  it('count code points, so a character outside the BMP is one column', () => {
    const m = parseModule('package p\np := ["😀", x] # 😀 and more\nq := 1', 'cols.rego');
    const value = m.rules[0]?.head.value;
    assert.equal(value?.type === 'array' && at(value.items[1]?.loc), 'cols.rego:2:12');
    assert.equal(m.comments[0]?.loc.col, 15);
    assert.equal(at(m.rules[1]?.loc), 'cols.rego:3:1');
  });
});
