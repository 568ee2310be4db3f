/**
 * Every YAML and JSON file of the repository parses (all documents of a
 * multi-document YAML file). Not walked: node_modules, dist, build, coverage,
 * hidden folders, and the chart's templates/ (Go templates, checked by
 * rendering them in chart.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder, root, yamlDocuments } from './support.ts';

const isTemplate = (f: string): boolean => /^charts\/[^/]+\/templates\//.test(f);

test('every YAML file parses', () => {
  const files = filesUnder('.', ['.yaml', '.yml']).filter((f) => !isTemplate(f));
  assert.ok(files.includes('kind-config.yaml') && files.includes('charts/portcullis/values.yaml'), 'the walk finds the known files');
  const broken: string[] = [];
  for (const f of files) {
    try {
      yamlDocuments(readFileSync(join(root, f), 'utf8'), f);
    } catch (e) {
      broken.push((e as Error).message);
    }
  }
  assert.deepEqual(broken, []);
});

test('every JSON file parses', () => {
  const files = filesUnder('.', ['.json']);
  assert.ok(files.includes('package.json') && files.includes('charts/portcullis/values.schema.json'));
  const broken: string[] = [];
  for (const f of files) {
    try {
      JSON.parse(readFileSync(join(root, f), 'utf8'));
    } catch (e) {
      broken.push(`${f}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('a broken document is reported with its file name', () => {
  assert.throws(() => yamlDocuments('a: 1\n---\nb: [1, 2\n', 'x.yaml'), /^Error: x\.yaml: /);
});
