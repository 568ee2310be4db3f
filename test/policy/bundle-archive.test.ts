import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleTag, writeBundleArchive, readBundleArchive } from '../../src/policy/bundle-archive.ts';
import { packTarGz, unpackTarGz } from '../../src/policy/tar-gz.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { echoBundle } from './echo-bundle.ts';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

function sample() {
  return {
    ...echoBundle({ limits: { amount: 5000 }, users: ['ada'] }),
    tools: [{ name: 'fs', kind: 'mcp' as const, url: 'http://fs.tools:8080/mcp', description: 'files' }],
    tests: [{ name: 'echo', input: { a: 1 }, want: { effect: 'allow' } }],
  };
}

test('archive round-trip keeps every part and the digest', async () => {
  const bundle = sample();
  const bytes = await writeBundleArchive(bundle);
  const back = await readBundleArchive(bytes);
  assert.deepEqual(back, { ...bundle, wasm: back.wasm });
  assert.deepEqual(Buffer.from(back.wasm), Buffer.from(bundle.wasm));
  // The same bundle always gives the same bytes.
  assert.deepEqual(Buffer.from(await writeBundleArchive(bundle)), Buffer.from(bytes));
  // And the read bundle evaluates.
  const engine = new OpaWasmEngine();
  await engine.load(back);
  assert.deepEqual(engine.evaluate({}, 'echo/data').result, bundle.data);
});

test('the archive is in OPA bundle layout', async () => {
  const files = await unpackTarGz(await writeBundleArchive(sample()));
  assert.deepEqual([...files.keys()].sort(), ['/.manifest', '/data.json', '/policy.wasm']);
  const manifest = JSON.parse(files.get('/.manifest')!.toString());
  assert.equal(manifest.revision, sample().digest);
  assert.deepEqual(manifest.roots, ['']);
  assert.deepEqual(manifest.wasm[0], { entrypoint: 'echo/input', module: '/policy.wasm' });
  assert.equal(manifest.metadata.portcullis.compiler, 'test');
});

test('a tampered archive is refused with BUNDLE_DIGEST_MISMATCH', async () => {
  const files = await unpackTarGz(await writeBundleArchive(sample()));
  const data = JSON.parse(files.get('/data.json')!.toString());
  data.limits.amount = 999999;
  const tamperedData = await packTarGz([
    { name: '/.manifest', content: files.get('/.manifest')! },
    { name: '/data.json', content: Buffer.from(JSON.stringify(data)) },
    { name: '/policy.wasm', content: files.get('/policy.wasm')! },
  ]);
  await assert.rejects(readBundleArchive(tamperedData), code(ErrorCodes.BUNDLE_DIGEST_MISMATCH));

  const wasm = Buffer.from(files.get('/policy.wasm')!);
  wasm[wasm.length - 1] ^= 1;
  const tamperedWasm = await packTarGz([
    { name: '/.manifest', content: files.get('/.manifest')! },
    { name: '/data.json', content: files.get('/data.json')! },
    { name: '/policy.wasm', content: wasm },
  ]);
  await assert.rejects(readBundleArchive(tamperedWasm), code(ErrorCodes.BUNDLE_DIGEST_MISMATCH));
});

test('broken archives are refused with BUNDLE_INVALID', async () => {
  await assert.rejects(readBundleArchive(new Uint8Array([1, 2, 3])), code(ErrorCodes.BUNDLE_INVALID));
  const noWasm = await packTarGz([{ name: '/.manifest', content: Buffer.from('{"revision":"x","wasm":[{"entrypoint":"a/b"}]}') }]);
  await assert.rejects(readBundleArchive(noWasm), code(ErrorCodes.BUNDLE_INVALID));
});

test('a bundle from `opa build -t wasm` is read only when asked for', async () => {
  const bundle = sample();
  const opaBuilt = await packTarGz([
    { name: '/.manifest', content: Buffer.from(JSON.stringify({ revision: '', roots: [''], wasm: [{ entrypoint: 'echo/data', module: '/policy.wasm' }] })) },
    { name: '/data.json', content: Buffer.from(JSON.stringify(bundle.data)) },
    { name: '/policy.wasm', content: Buffer.from(bundle.wasm) },
  ]);
  await assert.rejects(readBundleArchive(opaBuilt), code(ErrorCodes.BUNDLE_INVALID));
  const read = await readBundleArchive(opaBuilt, { acceptOpaBundles: true });
  assert.equal(read.digest, bundle.digest);
  assert.deepEqual(read.entrypoints, ['echo/data']);
  assert.equal(read.compiler, 'opa');

  // A Portcullis archive stripped of its revision is still refused.
  const files = await unpackTarGz(await writeBundleArchive(bundle));
  const manifest = JSON.parse(files.get('/.manifest')!.toString());
  manifest.revision = '';
  const stripped = await packTarGz([
    { name: '/.manifest', content: Buffer.from(JSON.stringify(manifest)) },
    { name: '/data.json', content: files.get('/data.json')! },
    { name: '/policy.wasm', content: files.get('/policy.wasm')! },
  ]);
  await assert.rejects(readBundleArchive(stripped, { acceptOpaBundles: true }), code(ErrorCodes.BUNDLE_INVALID));
});

test('the mode a bundle carries survives the archive, is not in the digest, and shows in its tag', async () => {
  const observe = { ...sample(), mode: 'observe' as const };
  const files = await unpackTarGz(await writeBundleArchive(observe));
  const manifest = JSON.parse(files.get('/.manifest')!.toString());
  assert.equal(manifest.metadata.portcullis.mode, 'observe');
  assert.equal(manifest.revision, sample().digest);
  const back = await readBundleArchive(await writeBundleArchive(observe));
  assert.equal(back.mode, 'observe');
  assert.equal(back.digest, sample().digest);
  assert.equal((await readBundleArchive(await writeBundleArchive(sample()))).mode, undefined);
  assert.equal(bundleTag(back), `${back.digest};mode=observe`);
  assert.equal(bundleTag({ ...back, mode: 'enforce' }), back.digest, 'enforce is what no mode means');
  manifest.metadata.portcullis.mode = 'audit';
  files.set('/.manifest', Buffer.from(JSON.stringify(manifest)));
  const bad = await packTarGz([...files].map(([name, content]) => ({ name, content: new Uint8Array(content) })));
  await assert.rejects(readBundleArchive(bad), code(ErrorCodes.BUNDLE_INVALID));
});
