// strings.render_template on the host: the text/template subset messages use.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate } from '../../../../src/policy/rego/host-template.ts';

it('renders fields, variables, conditionals and ranges', () => {
  assert.equal(renderTemplate('{{.test}}', { test: 'hello world' }), 'hello world');
  assert.equal(renderTemplate('{{.n}} {{.f}} {{.b}} {{.a}} {{.o}}', { n: 2023, f: 1.5, b: true, a: [1, 'x'], o: { k: 1 } }), '2023 1.5 true [1 x] map[k:1]');
  assert.equal(renderTemplate('{{range $i, $name := .names}}{{if $i}},{{end}}hello {{$name}}{{end}}', { names: ['rohan', 'john doe'] }), 'hello rohan,hello john doe');
  assert.equal(renderTemplate('{{range .xs}}<{{.}}>{{else}}none{{end}}', { xs: [] }), 'none');
  assert.equal(renderTemplate('{{if .ok}}yes{{else}}no{{end}} {{.user.name}}', { ok: false, user: { name: 'ann' } }), 'no ann');
  assert.equal(renderTemplate('a  {{- .x -}}  b', { x: 1 }), 'a1b');
  assert.equal(renderTemplate('test {{.foo}} {{.baz}}', { baz: 1 }), 'test <undefined> 1');
});

it('refuses malformed templates', () => {
  assert.throws(() => renderTemplate('{{if .x}}open', {}), /missing \{\{end\}\}/);
  assert.throws(() => renderTemplate('{{.x', {}), /unclosed action/);
  assert.throws(() => renderTemplate('{{call .f}}', {}), /unsupported action/);
});
