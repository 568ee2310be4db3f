/**
 * Finds and reads the compiled runtime (build/runtime.wasm) once per
 * process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortcullisError, ErrorCodes } from '../../../errors.ts';
import { readRuntimeImage, type RuntimeImage } from './wasm/runtime-image.ts';

let cached: RuntimeImage | undefined;

/** build/runtime.wasm, searched above this file (works from src/ and from dist/). */
export function runtimeImage(): RuntimeImage {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'build', 'runtime.wasm');
    if (existsSync(candidate)) {
      cached = readRuntimeImage(new Uint8Array(readFileSync(candidate)));
      return cached;
    }
    dir = dirname(dir);
  }
  throw new PortcullisError(
    ErrorCodes.REGO_COMPILE,
    'build/runtime.wasm not found: run `npm run build:runtime` to compile the Rego wasm runtime',
  );
}
