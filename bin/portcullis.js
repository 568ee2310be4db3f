#!/usr/bin/env node
// In a checkout the TypeScript sources run through tsx (no build step for
// `npm start`); the container image ships only the compiled dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let entry = join(root, 'src', 'cli', 'main.ts');
if (existsSync(entry)) {
  const { register } = await import('tsx/esm/api');
  register();
} else {
  entry = join(root, 'dist', 'cli', 'main.js');
}
const { runFromProcess } = await import(pathToFileURL(entry).href);
await runFromProcess();
