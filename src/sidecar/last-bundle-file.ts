/**
 * The last bundle a sidecar loaded from the controller, kept on its own
 * volume (the ledger's, which the agent's containers do not mount): a sidecar
 * restarted while the controller is unreachable enforces it, and says so,
 * instead of denying every call until the controller is back. The archive is
 * checked against its digest when read, and against its signature when the
 * sidecar was given keys, as one from the controller is.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readBundleArchive } from '../policy/bundle-archive.ts';
import type { BundleVerificationKey } from '../policy/bundle-signing.ts';
import type { CompiledBundle } from '../policy/types.ts';

/** Writes `archive` so that a reader sees the old file or the new one, never a part. */
export async function saveLastBundle(path: string, archive: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, archive, { mode: 0o600 });
  await rename(tmp, path);
}

/** The kept bundle, or undefined when there is none; throws BUNDLE_INVALID / BUNDLE_DIGEST_MISMATCH / BUNDLE_SIGNATURE for a damaged or unsigned one. */
export async function readLastBundle(path: string, verificationKeys?: readonly BundleVerificationKey[]): Promise<CompiledBundle | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return readBundleArchive(new Uint8Array(bytes), { verificationKeys });
}
