/**
 * Loads the compiled runtime (build/runtime.wasm) into a binaryen module and
 * prepares it to receive a policy: records the internal names of its
 * exported functions, and finds where its static data ends.
 */
import binaryen from 'binaryen';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortcullisError, ErrorCodes } from '../../../errors.ts';

/** Features the runtime is compiled with (asc defaults), all in Node 20. */
export const FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.SignExt |
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt;

export interface RuntimeFunction {
  internal: string;
  params: number;
  results: number;
}

export interface LoadedRuntime {
  module: binaryen.Module;
  /** Runtime functions by export name. */
  functions: Map<string, RuntimeFunction>;
  /** Segments of the runtime, to be re-added with the policy's own. */
  segments: { offset: number; data: Uint8Array }[];
  /** First free address after the runtime's static data (16-aligned). */
  staticEnd: number;
  memoryName: string;
  memoryInitial: number;
  startFunction: string | null;
}

let cachedBytes: Uint8Array | undefined;

/** Finds build/runtime.wasm above this file (works from src/ and from dist/). */
export function runtimeBytes(): Uint8Array {
  if (cachedBytes) return cachedBytes;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'build', 'runtime.wasm');
    if (existsSync(candidate)) {
      cachedBytes = new Uint8Array(readFileSync(candidate));
      return cachedBytes;
    }
    dir = dirname(dir);
  }
  throw new PortcullisError(
    ErrorCodes.REGO_COMPILE,
    'build/runtime.wasm not found: run `npm run build:runtime` to compile the Rego wasm runtime',
  );
}

export function loadRuntime(bytes: Uint8Array): LoadedRuntime {
  const module = binaryen.readBinary(bytes);
  module.setFeatures(FEATURES);
  const functions = new Map<string, RuntimeFunction>();
  for (let i = 0; i < module.getNumExports(); i++) {
    const info = binaryen.getExportInfo(module.getExportByIndex(i));
    if (info.kind !== binaryen.ExternalFunction) continue;
    const fn = binaryen.getFunctionInfo(module.getFunction(info.value));
    functions.set(info.name, { internal: info.value, params: fn.params, results: fn.results });
  }
  const segments: { offset: number; data: Uint8Array }[] = [];
  let end = 0;
  for (let i = 0; i < module.getNumDataSegments(); i++) {
    const info = module.getDataSegmentInfo(module.getDataSegmentByIndex(i)) as unknown as {
      offset: number;
      data: ArrayBuffer;
      passive: boolean;
    };
    if (info.passive) throw new Error('runtime: passive data segments are not supported');
    const data = new Uint8Array(info.data);
    segments.push({ offset: info.offset, data });
    end = Math.max(end, info.offset + data.length);
  }
  const text = memoryInternalName(module);
  const start = module.getStart();
  return {
    module,
    functions,
    segments,
    staticEnd: (end + 15) & ~15,
    memoryName: text,
    memoryInitial: module.getMemoryInfo().initial,
    startFunction: start ? binaryen.getFunctionInfo(start).name : null,
  };
}

/** The internal name binaryen gave the imported memory. */
function memoryInternalName(module: binaryen.Module): string {
  for (let i = 0; i < module.getNumExports(); i++) {
    const info = binaryen.getExportInfo(module.getExportByIndex(i));
    if (info.kind === binaryen.ExternalMemory) return info.value;
  }
  return 'mimport$0';
}
