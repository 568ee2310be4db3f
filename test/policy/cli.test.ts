// The policy subcommands end to end: `node bin/portcullis.js compile|eval|test`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundleArchive } from '../../src/policy/bundle-archive.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'portcullis.js');
const FIXTURE = join(ROOT, 'bench', 'fixtures', 'policy');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-cli-'));
  await cp(FIXTURE, join(dir, 'policy'), { recursive: true });
  await writeFile(join(dir, 'charge.json'), JSON.stringify({ action: { type: 'http', http: { method: 'POST', path: '/v1/charges', body: { amount: 5000 } } } }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function portcullis(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, PORTCULLIS_COMPILER: 'portcullis' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('compile writes an archive whose digest it prints; eval reads it', async () => {
  const compiled = await portcullis('compile', 'policy', '-o', 'bundle.tar.gz');
  assert.equal(compiled.code, 0, compiled.stderr);
  const bundle = await readBundleArchive(await readFile(join(dir, 'bundle.tar.gz')));
  assert.match(compiled.stdout, new RegExp(`digest ${bundle.digest}`));
  assert.equal(bundle.compiler, 'portcullis');
  assert.deepEqual(bundle.entrypoints, ['portcullis/decision']);
  assert.equal(bundle.tools.length, 2);

  const evaluated = await portcullis('eval', '--bundle', 'bundle.tar.gz', '--input', 'charge.json');
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const out = JSON.parse(evaluated.stdout);
  assert.equal(out.result.effect, 'escalate');
  assert.equal(out.defined, true);
  assert.equal(out.digest, bundle.digest);
});

test('eval compiles a directory first and takes another entrypoint', async () => {
  const r = await portcullis('eval', '-b', 'policy', '-i', 'charge.json', '-e', 'portcullis/charge');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).result, true);
});

test('test passes on the fixture and fails with exit code 1 when a case fails', async () => {
  const passing = await portcullis('test', 'policy', '--json');
  assert.equal(passing.code, 0, passing.stderr);
  const report = JSON.parse(passing.stdout);
  assert.equal(report.failed, 0);
  assert.ok(report.results.some((r: { kind: string }) => r.kind === 'rule'));

  await writeFile(join(dir, 'policy', 'tests', 'wrong.yaml'), '- {name: wrong, input: {}, want: {effect: allow}}\n');
  const failing = await portcullis('test', 'policy');
  assert.equal(failing.code, 1);
  assert.match(failing.stdout, /case "wrong": FAIL/);
  assert.match(failing.stdout, /FAIL: 1\/6/);
  await rm(join(dir, 'policy', 'tests', 'wrong.yaml'));
});

test('errors carry stable codes; misuse exits 2', async () => {
  const missing = await portcullis('compile', 'nope');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /PORTCULLIS_BUNDLE_INVALID/);

  await writeFile(join(dir, 'broken.rego'), 'package portcullis\n\ndecision := {\n');
  await cp(join(dir, 'broken.rego'), join(dir, 'policy', 'zz_broken.rego'));
  const broken = await portcullis('compile', 'policy');
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /PORTCULLIS_REGO_PARSE/);
  await rm(join(dir, 'policy', 'zz_broken.rego'));

  const usage = await portcullis('eval', '--input', 'charge.json');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--bundle is required/);
});
