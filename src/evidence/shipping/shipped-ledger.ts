/**
 * A shipped ledger read back from object storage: its segments as sources
 * that `verifyLedger` and `replayLedger` stream like local files, and the
 * recorded policies shipped beside them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { LedgerSource } from '../ledger-reader.ts';
import type { S3Client } from './s3-client.ts';
import { formatS3Url, type S3Location } from './s3-url.ts';
import { firstSeqOfObject } from './segment-digest.ts';

/** Every `.jsonl` object under the location, as ledger sources. Throws LEDGER_CORRUPT when there is none. */
export async function shippedLedgerSources(client: S3Client, loc: S3Location): Promise<LedgerSource[]> {
  const sources: LedgerSource[] = [];
  for await (const o of client.listObjects(loc.bucket, loc.prefix)) {
    if (!o.key.endsWith('.jsonl')) continue;
    const name = formatS3Url({ bucket: loc.bucket, prefix: '' }, o.key);
    sources.push({
      name,
      size: async () => o.size,
      firstSeq: async () => firstSeqOfObject(o.key),
      open: async () => {
        const body = await client.getObject(loc.bucket, o.key);
        // Listed a moment ago: gone now means deleted meanwhile, which verify must not take for an empty file.
        if (!body) throw new PortcullisError(ErrorCodes.LEDGER_CORRUPT, `${name} was listed but can no longer be read: it was deleted while being verified`);
        return body as AsyncIterable<Buffer>;
      },
    });
  }
  if (sources.length === 0) {
    throw new PortcullisError(ErrorCodes.LEDGER_CORRUPT, `${formatS3Url(loc)} holds no .jsonl ledger segments: name one pod's folder, e.g. s3://BUCKET/PREFIX/NAMESPACE/POD/`);
  }
  return sources;
}

/**
 * The recorded policy with this digest, shipped under `bundles/` of the
 * location, copied into `dir` (the layout bundle-store.ts reads); false when
 * it was never shipped.
 */
export async function fetchShippedBundle(client: S3Client, loc: S3Location, digest: string, dir: string): Promise<boolean> {
  const name = `${digest.slice('sha256:'.length)}.tar.gz`;
  const data = await client.getSmallObject(loc.bucket, `${loc.prefix}bundles/${name}`);
  if (!data) return false;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), data);
  return true;
}
