/**
 * Keeps the recorded policies beside the ledger, so that replay can always
 * find the exact bundle that decided: every digest the recorder sees is
 * archived once as `<ledger dir>/bundles/<digest hex>.tar.gz` (the OPA-format
 * bundle archive, whose reader checks the digest again). A recompiled bundle
 * is not a substitute: a different compiler version yields a different wasm
 * and so a different digest.
 */
import { dirname, join } from 'node:path';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { readBundleArchive, writeBundleArchive } from '../policy/bundle-archive.ts';
import type { CompiledBundle } from '../policy/types.ts';

/** The directory a ledger's bundles are kept in. */
export function bundleStoreFor(ledgerPath: string): string {
  return join(dirname(ledgerPath), 'bundles');
}

function archivePath(dir: string, digest: string): string {
  const hex = digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError(`not a policy digest: ${digest}`);
  return join(dir, `${hex}.tar.gz`);
}

/** Archives `bundle` unless its digest is already stored; written to a temporary name, then renamed. */
export async function storeBundle(dir: string, bundle: CompiledBundle): Promise<boolean> {
  const path = archivePath(dir, bundle.digest);
  if (await stat(path).then(() => true, () => false)) return false;
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, await writeBundleArchive(bundle));
  await rename(tmp, path);
  return true;
}

/** The stored bundle with this digest, or undefined when there is none. */
export async function findStoredBundle(dir: string, digest: string): Promise<CompiledBundle | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(archivePath(dir, digest));
  } catch {
    return undefined;
  }
  return readBundleArchive(bytes);
}
