#!/usr/bin/env node
// Runs the compiled CLI when `npm run build` has produced dist/, and the
// TypeScript sources through tsx otherwise (a fresh checkout, `npm start`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
let entry = compiled;
if (!existsSync(compiled)) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(root, 'src', 'cli', 'main.ts');
}
const { runFromProcess } = await import(pathToFileURL(entry).href);
await runFromProcess();
