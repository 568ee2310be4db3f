/**
 * The last entry of the last segment shipped away, kept beside the ledger
 * (`ledger.shipped.json` for `ledger.jsonl`). Shipping deletes a segment once
 * object storage holds it; if the process restarts before the new active
 * file has an entry, nothing local would say where the chain stood, and the
 * ledger would start again from entry 0. The marker is written (and fsync'd)
 * before a segment is deleted, and `Ledger.open` continues the chain from it.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { dirname, extname } from 'node:path';

export interface ShippedHead {
  seq: number;
  hash: string;
  /** Where the segment went, for people reading the file. */
  location: string;
}

/** `ledger.jsonl` → `ledger.shipped.json`. */
export function shippedHeadPath(activePath: string): string {
  const ext = extname(activePath);
  return `${ext ? activePath.slice(0, -ext.length) : activePath}.shipped.json`;
}

export async function readShippedHead(activePath: string): Promise<{ seq: number; hash: string } | undefined> {
  let text: string;
  try {
    text = await readFile(shippedHeadPath(activePath), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as Partial<ShippedHead>;
    if (typeof v.seq === 'number' && Number.isSafeInteger(v.seq) && v.seq >= 0 && typeof v.hash === 'string' && /^sha256:[0-9a-f]{64}$/.test(v.hash)) {
      return { seq: v.seq, hash: v.hash };
    }
  } catch {
    // A torn marker (crash mid-write cannot happen with the rename below, but a person may have edited it).
  }
  return undefined;
}

/** Writes the marker durably: temporary file, fsync, rename, fsync of the directory. */
export async function writeShippedHead(activePath: string, head: ShippedHead): Promise<void> {
  const path = shippedHeadPath(activePath);
  const tmp = `${path}.tmp`;
  const h = await open(tmp, 'w', 0o640);
  try {
    await h.writeFile(JSON.stringify(head) + '\n');
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, path);
  const d = await open(dirname(path), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
