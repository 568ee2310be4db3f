/**
 * What ships is what runs: the package holds the compiled dist/, the wasm
 * runtime, bin and the shipped policies, and nothing of the sources, tests or
 * benchmarks; and that package, with no TypeScript in it, runs the gate.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

const run = promisify(execFile);
const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('the package lists exactly what runs: bin, dist (no source maps), the wasm runtime, the shipped policies', async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  const files: string[] = JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path);
  const tops = new Set(files.map((f) => f.split('/')[0]));
  for (const unwanted of ['src', 'test', 'bench', 'scripts', 'charts', 'manifests', 'node_modules', '.ci']) assert.ok(!tops.has(unwanted), `${unwanted}/ is not shipped`);
  for (const wanted of ['bin/portcullis.js', 'build/runtime.wasm', 'policies/decision.rego', 'package.json']) assert.ok(files.includes(wanted), `${wanted} is shipped`);
  assert.ok(!files.some((f) => f.endsWith('.map')), 'no source maps');
  const pkg = (await import(join(root, 'package.json'), { with: { type: 'json' } })).default;
  assert.ok(!('tsx' in pkg.dependencies), 'tsx is a dev dependency: what ships runs compiled JavaScript');
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

test('the compiled package, with no TypeScript in it, runs portcullis dev on the shipped policies and gates a call', { timeout: 240_000 }, async () => {
  const pkg = await mkdtemp(join(tmpdir(), 'portcullis-dist-'));
  dirs.push(pkg);
  await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: root });
  for (const part of ['bin', 'build', 'policies', 'package.json']) await cp(join(root, part), join(pkg, part), { recursive: true });
  await symlink(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  assert.ok(!existsSync(join(pkg, 'src')));
  const port = await freePort();
  const child = spawn(process.execPath, [join(pkg, 'bin', 'portcullis.js'), 'dev', '--policies', join(pkg, 'policies'), '--port', String(port), '--admin-port', '0', '--no-ledger'], {
    cwd: pkg,
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', PORTCULLIS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (out += c));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', () => /export HTTP_PROXY=/.test(out) && resolve());
      child.once('exit', (code) => reject(new Error(`portcullis dev exited (${code}):\n${out}`)));
    });
    assert.match(out, /loaded \S+ sha256:[0-9a-f]{64}/);
    const denied = await fetch(`http://127.0.0.1:${port}/tools/deploy/v1/anything`, { method: 'DELETE' });
    assert.equal(denied.status, 403, out);
    assert.equal(((await denied.json()) as any).error.code, 'PORTCULLIS_DENIED');
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
});
