import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyDirLoader, type LoadResult } from '../../src/sidecar/policy-dir-loader.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { ErrorCodes, PortcullisError } from '../../src/errors.ts';
import type { PolicyCompiler } from '../../src/policy/types.ts';
import { echoBundle } from '../policy/echo-bundle.ts';

// A compiler stand-in: the "compiled" policy answers its data (the echo
// module), so a bundle's decision is whatever data.json says; a module with
// the word BROKEN does not compile.
const compiler: PolicyCompiler = {
  name: 'test',
  async compile(source) {
    if (source.modules.some((m) => m.source.includes('BROKEN'))) throw new PortcullisError(ErrorCodes.REGO_PARSE, 'p.rego:1: unexpected BROKEN');
    return { ...echoBundle(source.data, ['echo/data']), tests: source.tests, tools: source.tools };
  },
};

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function policyDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-loader-'));
  dirs.push(dir);
  await writeFile(join(dir, 'p.rego'), 'package portcullis\n');
  await writeFile(join(dir, 'data.json'), JSON.stringify({ effect: 'allow', reason: 'v1' }));
  await writeFile(join(dir, 'portcullis.yaml'), 'entrypoint: echo/data\ntests:\n  - name: allows\n    input: {}\n    want: { effect: allow }\n');
  return dir;
}

test('a good folder loads; a broken or failing change keeps the last good bundle and says why', async () => {
  const dir = await policyDir();
  const engine = new OpaWasmEngine();
  const results: LoadResult[] = [];
  const loader = new PolicyDirLoader({ dir, bundleName: 't', engine, compiler: async () => compiler, onResult: (r) => results.push(r) });
  const first = await loader.load();
  assert.equal(first.ok, true);
  const good = engine.current()!.digest;
  assert.deepEqual(engine.evaluate({}).result, { effect: 'allow', reason: 'v1' });

  await writeFile(join(dir, 'p.rego'), 'package portcullis\nBROKEN\n');
  const broken = await loader.load();
  assert.equal(broken.ok === false && broken.error.code, ErrorCodes.REGO_PARSE);
  assert.equal(engine.current()!.digest, good);

  await writeFile(join(dir, 'p.rego'), 'package portcullis\n');
  await writeFile(join(dir, 'data.json'), JSON.stringify({ effect: 'deny', reason: 'v2' }));
  const failing = await loader.load();
  assert.equal(failing.ok === false && failing.error.code, ErrorCodes.BUNDLE_TESTS_FAILED);
  assert.equal(engine.current()!.digest, good);
  assert.equal(results.length, 3);
});

test('a file change is picked up by the watcher', async () => {
  const dir = await policyDir();
  const engine = new OpaWasmEngine();
  let notify: (r: LoadResult) => void = () => undefined;
  const loader = new PolicyDirLoader({ dir, bundleName: 't', engine, compiler: async () => compiler, debounceMs: 20, onResult: (r) => notify(r) });
  await loader.load();
  loader.watch();
  try {
    const next = new Promise<LoadResult>((r) => (notify = r));
    await writeFile(join(dir, 'data.json'), JSON.stringify({ effect: 'allow', reason: 'v3' }));
    const r = await next;
    assert.equal(r.ok, true);
    assert.deepEqual(engine.evaluate({}).result, { effect: 'allow', reason: 'v3' });
  } finally {
    await loader.close();
  }
});
