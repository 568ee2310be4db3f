// Builds the wasm runtime of the Rego compiler (AssemblyScript sources in
// src/policy/rego/runtime/) into build/runtime.wasm. Runs on `npm install`
// (prepare) and in `npm run build`. Nothing built is committed.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src/policy/rego/runtime');
if (!existsSync(join(src, 'index.ts'))) {
  console.log('build-runtime: no runtime sources yet, nothing to build');
  process.exit(0);
}
let asc;
try {
  asc = await import('assemblyscript/asc');
} catch {
  // A production install without dev dependencies uses the shipped build/.
  console.log('build-runtime: assemblyscript is not installed, skipping');
  process.exit(0);
}
mkdirSync(join(root, 'build'), { recursive: true });
// `--wat` also writes build/runtime.wat (for reading the compiled code).
const wat = process.argv.includes('--wat');
const args = [
  join('src/policy/rego/runtime/index.ts'),
  '--config', 'src/policy/rego/runtime/asconfig.json',
  '--outFile', 'build/runtime.wasm',
  ...(wat ? ['--textFile', 'build/runtime.wat'] : []),
  ...process.argv.slice(2).filter((a) => a !== '--wat'),
];
const started = Date.now();
const { error, stderr } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr, baseDir: root });
if (error) {
  console.error(`build-runtime: ${error.message}`);
  console.error(stderr.toString());
  process.exit(1);
}
console.log(`build-runtime: build/runtime.wasm in ${Date.now() - started} ms`);
