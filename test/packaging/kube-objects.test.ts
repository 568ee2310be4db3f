/**
 * Every Kubernetes object in manifests/ and examples/ validates: built-in
 * kinds against the Kubernetes schemas of `kubernetes-models`, PolicyBundle
 * and ActionApproval against the CRDs' own OpenAPI schemas (unknown fields
 * refused). Kinds of other projects (cert-manager) have no schema here: they
 * must be on the list below, and get a structural check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { portcullisSchemas, problems, type KubeObject } from './kube-schemas.ts';
import { filesUnder, readYamlDocuments, root } from './support.ts';

const files = [...filesUnder('manifests', ['.yaml', '.yml']), ...filesUnder('examples', ['.yaml', '.yml'])];

test('every object in manifests/ and examples/ is valid for its schema', () => {
  const schemas = portcullisSchemas();
  const found: string[] = [];
  const errors: string[] = [];
  for (const f of files) {
    for (const doc of readYamlDocuments(f) as KubeObject[]) {
      found.push(`${String(doc.kind)}`);
      errors.push(...problems(schemas, doc, f));
    }
  }
  assert.deepEqual(errors, []);
  for (const kind of ['CustomResourceDefinition', 'Deployment', 'Service', 'ClusterRole', 'MutatingWebhookConfiguration', 'PolicyBundle', 'ActionApproval', 'NetworkPolicy', 'ConfigMap']) {
    assert.ok(found.includes(kind), `no ${kind} was checked`);
  }
});

test('the validators refuse what the API server would refuse', () => {
  const schemas = portcullisSchemas();
  const bundle = readYamlDocuments('examples/policybundles/shipped.yaml')[0] as any;
  assert.deepEqual(problems(schemas, bundle, 'x'), []);
  assert.match(problems(schemas, { ...bundle, spec: { ...bundle.spec, mode: 'audit' } }, 'x').join('\n'), /mode must be equal to one of the allowed values/);
  assert.match(problems(schemas, { ...bundle, spec: { ...bundle.spec, modes: 'enforce' } }, 'x').join('\n'), /must NOT have additional properties \(modes\)/);
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 'eighty' }] } };
  assert.match(problems(schemas, svc, 'x').join('\n'), /port/);
  assert.match(problems(schemas, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }, 'x').join('\n'), /no schema/);
  assert.match(problems(schemas, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_A_Name' } }, 'x').join('\n'), /DNS-1123/);
});

test('every PORTCULLIS_* variable set by the chart, the manifests, the examples and the Dockerfile is one the code reads', () => {
  const src = filesUnder('src', ['.ts']).map((f) => readFileSync(join(root, f), 'utf8')).join('\n');
  const known = new Set(src.match(/PORTCULLIS_[A-Z0-9_]+/g));
  const sources = [...files, ...filesUnder('charts', ['.yaml', '.tpl']), 'Dockerfile'];
  const unknown: string[] = [];
  for (const f of sources) {
    const text = readFileSync(join(root, f), 'utf8');
    for (const m of text.matchAll(/(?:name: |ENV |\s)(PORTCULLIS_[A-Z0-9_]+)(?=[\s=:"])/g)) if (!known.has(m[1]!)) unknown.push(`${f}: ${m[1]}`);
  }
  assert.deepEqual(unknown, []);
});
