/**
 * A compiled bundle from what a person names on the command line: a bundle
 * archive (`bundle.tar.gz`, digest checked; one built by `opa build -t wasm`
 * is accepted too) or a policy directory (compiled
 * on the spot with the selected compiler).
 */
import { readFile, stat } from 'node:fs/promises';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { readBundleArchive } from './bundle-archive.ts';
import { readBundleDir } from './bundle-dir.ts';
import type { CompiledBundle, PolicyCompiler } from './types.ts';

export interface LoadBundleOptions {
  /** Chooses the compiler, only when `path` is a directory. */
  compiler: () => Promise<PolicyCompiler>;
  /** Replaces the manifest's entrypoints (directories only). */
  entrypoints?: string[];
}

export async function loadBundleFrom(path: string, options: LoadBundleOptions): Promise<CompiledBundle> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new PortcullisError(ErrorCodes.BUNDLE_INVALID, `${path}: no such file or directory (expected a bundle .tar.gz or a policy directory)`);
  if (info.isDirectory()) {
    const source = await readBundleDir(path);
    if (options.entrypoints && options.entrypoints.length > 0) source.entrypoints = options.entrypoints;
    return (await options.compiler()).compile(source);
  }
  // A person may name a bundle built by `opa build -t wasm` directly.
  return readBundleArchive(await readFile(path), { acceptOpaBundles: true });
}
