// Builds the wasm runtime of the Rego compiler (AssemblyScript sources in
// src/policy/rego/runtime/) into build/runtime.wasm. Runs on `npm install`.
import { existsSync } from 'node:fs';
if (!existsSync('src/policy/rego/runtime/index.ts')) {
  console.log('build-runtime: no runtime sources yet, nothing to build');
  process.exit(0);
}
