import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, PatchError } from './json-patch.ts';

test('JSON patch: add into arrays and maps, escaped keys, replace, remove, test', () => {
  const doc = { metadata: { annotations: { a: '1' } }, spec: { containers: [{ name: 'x' }] } };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/metadata/annotations/portcullis.dev~1injected', value: 'yes' },
    { op: 'add', path: '/spec/containers/0', value: { name: 'first' } },
    { op: 'add', path: '/spec/containers/-', value: { name: 'last' } },
    { op: 'replace', path: '/metadata/annotations/a', value: '2' },
    { op: 'test', path: '/spec/containers/1/name', value: 'x' },
  ]);
  assert.deepEqual(out.metadata.annotations, { a: '2', 'portcullis.dev/injected': 'yes' });
  assert.deepEqual(out.spec.containers.map((c: any) => c.name), ['first', 'x', 'last']);
  assert.deepEqual(doc.spec.containers.length, 1, 'the input is not modified');
  assert.throws(() => applyJsonPatch(doc, [{ op: 'add', path: '/spec/volumes/0', value: {} }]), PatchError);
  assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/metadata/labels' }]), PatchError);
  assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/metadata/annotations/a', value: '9' }]), PatchError);
});
