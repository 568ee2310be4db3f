/** `s3://BUCKET/PREFIX` locations of shipped ledgers and witnessed heads. */
import { ErrorCodes, PortcullisError } from '../../errors.ts';

export interface S3Location {
  bucket: string;
  /** Without a leading slash; empty, or ending in `/` when it names a folder. */
  prefix: string;
}

/** Bucket names as S3 allows them (3–63 of lowercase letters, digits, dots and hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isS3Url(value: string): boolean {
  return value.startsWith('s3://');
}

/** Parses `s3://bucket/some/prefix`; `asFolder` adds the trailing `/` a folder prefix needs. */
export function parseS3Url(value: string, asFolder = true, setting = 'the location'): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(value.trim());
  if (!m || !BUCKET.test(m[1]!)) {
    throw new PortcullisError(ErrorCodes.CONFIG, `${setting} "${value}" is not an s3://BUCKET/PREFIX URL (bucket: 3 to 63 lowercase letters, digits, dots, hyphens)`, { value });
  }
  let prefix = m[2]!.replace(/\/{2,}/g, '/');
  if (asFolder && prefix && !prefix.endsWith('/')) prefix += '/';
  return { bucket: m[1]!, prefix };
}

export function formatS3Url(loc: S3Location, key = ''): string {
  return `s3://${loc.bucket}/${loc.prefix}${key}`;
}
