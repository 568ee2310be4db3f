#!/usr/bin/env node
// In a checkout the TypeScript sources run through tsx (a dev dependency: no
// build step for `npm start`); the published package and the container image
// ship only the compiled dist/, and so does a checkout installed without dev
// dependencies once `npm run build` has made dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'main.ts');
const compiled = join(root, 'dist', 'cli', 'main.js');

async function sourceEntry() {
  if (!existsSync(source)) return undefined;
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return source;
  } catch {
    return undefined;
  }
}

const entry = (await sourceEntry()) ?? compiled;
if (!existsSync(entry)) {
  process.stderr.write('portcullis: dist/ is missing: run `npm run build` (or install the dev dependencies to run from src/)\n');
  process.exit(1);
}
const { runFromProcess } = await import(pathToFileURL(entry).href);
await runFromProcess();
