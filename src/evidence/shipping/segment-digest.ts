/**
 * What the shipper needs to know of a closed ledger segment before uploading
 * it: its size, SHA-256 (signed into the upload and kept as metadata), MD5
 * (Content-MD5, and the ETag a plain PUT gets), and the chain positions of
 * its first and last entries (they name the object and the shipped head).
 * One streaming pass for the digests; the first and last lines are read
 * directly, so a segment is never held in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { entryHash, parseEntry } from '../ledger-entry.ts';
import { nodeLedgerFs } from '../ledger-fs.ts';
import { firstSeq } from '../ledger-reader.ts';
import { lastCompleteLine } from '../ledger.ts';

export interface SegmentDigest {
  path: string;
  size: number;
  sha256: string;
  /** base64, for Content-MD5. */
  md5: string;
  md5Hex: string;
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
}

export async function digestSegment(path: string): Promise<SegmentDigest> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    sha.update(chunk);
    md5.update(chunk);
    size += chunk.byteLength;
  }
  const first = await firstSeq(path);
  const file = await nodeLedgerFs.openRead(path);
  let last: string | undefined;
  try {
    last = await lastCompleteLine(file, size);
  } finally {
    await file.close();
  }
  const parsed = last === undefined ? undefined : parseEntry(last);
  if (first === undefined || !parsed?.ok || entryHash(parsed.entry) !== parsed.entry.hash) {
    throw new PortcullisError(
      ErrorCodes.LEDGER_CORRUPT,
      `the ledger segment ${path} does not start and end with valid entries; it is kept, not shipped: run \`portcullis verify\` on it`,
      { file: path },
    );
  }
  const md5Digest = md5.digest();
  return {
    path,
    size,
    sha256: sha.digest('hex'),
    md5: md5Digest.toString('base64'),
    md5Hex: md5Digest.toString('hex'),
    firstSeq: first,
    lastSeq: parsed.entry.seq,
    lastHash: parsed.entry.hash,
  };
}

/** `segments/000000000000-000000004095.jsonl`: sorts in chain order, and names the entries it holds. */
export function segmentObjectName(d: Pick<SegmentDigest, 'firstSeq' | 'lastSeq'>, suffix = ''): string {
  const pad = (n: number): string => String(n).padStart(12, '0');
  return `segments/${pad(d.firstSeq)}-${pad(d.lastSeq)}${suffix}.jsonl`;
}

/** The first sequence number in a shipped segment's object name, if it is one. */
export function firstSeqOfObject(key: string): number | undefined {
  const m = /(?:^|\/)segments\/(\d{12,})-(\d{12,})(?:\.[0-9a-f]+)?\.jsonl$/.exec(key);
  return m ? Number(m[1]) : undefined;
}
