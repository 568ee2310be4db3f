import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { ErrorCodes } from '../../src/errors.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'portcullis-bundle-dir-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function bundleDir(files: Record<string, string>): Promise<string> {
  const dir = join(root, String(n++));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

const REGO = 'package portcullis\n\ndecision := {"effect": "allow"}\n';

test('reads modules, data at directory paths, manifest and test files', async () => {
  const dir = await bundleDir({
    'portcullis.rego': REGO,
    'lib/helpers.rego': 'package lib\n\nx := 1\n',
    'lib/helpers_test.rego': 'package lib\n\ntest_x if x == 1\n',
    'data.json': '{"limits": {"amount": 5000}}',
    'users/data.yaml': 'ada: {role: admin}\n',
    'limits/data.json': '{"currency": "EUR"}',
    'portcullis.yaml': [
      'entrypoints: [portcullis/decision, data.portcullis.other]',
      'tools:',
      '  - {name: fs, kind: mcp, url: "http://fs:8080/mcp", description: files}',
      'tests:',
      '  - {name: allowed, input: {a: 1}, want: {effect: allow}}',
    ].join('\n'),
    'tests/more.yaml': '- {name: denied, input: {}, want: {effect: deny, reason: no}}\n',
  });
  const source = await readBundleDir(dir);
  assert.deepEqual(source.modules.map((m) => m.path), ['lib/helpers.rego', 'portcullis.rego']);
  assert.deepEqual(source.data, { limits: { amount: 5000, currency: 'EUR' }, users: { ada: { role: 'admin' } } });
  assert.deepEqual(source.entrypoints, ['portcullis/decision', 'portcullis/other']);
  assert.deepEqual(source.tools, [{ name: 'fs', kind: 'mcp', url: 'http://fs:8080/mcp', description: 'files' }]);
  assert.deepEqual(source.tests.map((t) => t.name), ['allowed', 'denied']);
  assert.deepEqual(source.tests[1]!.want, { effect: 'deny', reason: 'no' });

  const withTests = await readBundleDir(dir, { withTestModules: true });
  assert.ok(withTests.modules.some((m) => m.path === 'lib/helpers_test.rego'));
});

test('without a manifest the entrypoint is portcullis/decision', async () => {
  const source = await readBundleDir(await bundleDir({ 'p.rego': REGO }));
  assert.deepEqual(source.entrypoints, ['portcullis/decision']);
  assert.deepEqual(source.tools, []);
});

const invalidCases: [string, Record<string, string>, string, string][] = [
  ['no rego', { 'data.json': '{}' }, '', ''],
  ['bad kind', { 'p.rego': REGO, 'portcullis.yaml': 'tools: [{name: x, kind: grpc, url: "http://x"}]' }, 'portcullis.yaml', 'tools[0].kind'],
  ['bad url', { 'p.rego': REGO, 'portcullis.yaml': 'tools: [{name: x, kind: http, url: "nope"}]' }, 'portcullis.yaml', 'tools[0].url'],
  ['unknown key', { 'p.rego': REGO, 'portcullis.yaml': 'entrypiont: a/b' }, 'portcullis.yaml', 'entrypiont'],
  ['both entrypoint forms', { 'p.rego': REGO, 'portcullis.yaml': 'entrypoint: a/b\nentrypoints: [a/c]' }, 'portcullis.yaml', 'entrypoints'],
  ['bad entrypoint', { 'p.rego': REGO, 'portcullis.yaml': 'entrypoint: "a b"' }, 'portcullis.yaml', 'entrypoint'],
  ['test without effect', { 'p.rego': REGO, 'portcullis.yaml': 'tests: [{name: t, input: {}, want: {}}]' }, 'portcullis.yaml', 'tests[0].want.effect'],
  ['test without input', { 'p.rego': REGO, 'tests/a.yaml': '- {name: t, want: {effect: allow}}' }, 'tests/a.yaml', 'tests[0].input'],
  ['duplicate test', { 'p.rego': REGO, 'portcullis.yaml': 'tests: [{name: t, input: {}, want: {effect: allow}}]', 'tests/a.yaml': '- {name: t, input: {}, want: {effect: allow}}' }, 'tests/a.yaml', 'tests'],
  ['data conflict', { 'p.rego': REGO, 'data.json': '{"a": {"b": 1}}', 'a/data.json': '{"b": 2}' }, '', ''],
  ['bad json', { 'p.rego': REGO, 'data.json': '{' }, 'data.json', ''],
  ['root data not an object', { 'p.rego': REGO, 'data.json': '[1]' }, 'data.json', ''],
];

for (const [name, files, file, field] of invalidCases) {
  test(`invalid bundle dir: ${name}`, async () => {
    const dir = await bundleDir(files);
    await assert.rejects(readBundleDir(dir), (e: unknown) => {
      const err = e as { code?: string; details?: { file?: string; field?: string } };
      assert.equal(err.code, ErrorCodes.BUNDLE_INVALID);
      if (file) assert.equal(err.details?.file, file);
      assert.equal(err.details?.field, field);
      return true;
    });
  });
}

test('a missing directory is BUNDLE_INVALID', async () => {
  await assert.rejects(readBundleDir(join(root, 'nope')), (e: unknown) => (e as { code?: string }).code === ErrorCodes.BUNDLE_INVALID);
});
