/**
 * The ledgers `verify` and `replay` read: local files and folders, or a
 * shipped ledger in object storage (`s3://BUCKET/PREFIX/NAMESPACE/POD/`),
 * whose segments are streamed, never downloaded whole.
 */
import type { CommandIO } from './command.ts';
import { ledgerFiles } from './commands/verify.ts';
import type { LedgerInput } from '../evidence/ledger-reader.ts';
import type { S3Client } from '../evidence/shipping/s3-client.ts';
import type { S3Location } from '../evidence/shipping/s3-url.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';

export interface LedgerInputs {
  inputs: LedgerInput[];
  /** Set when the ledger is a shipped one. */
  shipped?: { client: S3Client; location: S3Location };
  close(): Promise<void>;
}

async function s3Client(io: CommandIO, endpointFlag: string | undefined): Promise<S3Client> {
  const { loadObjectStoreAccess } = await import('../config/object-store-access.ts');
  const { S3Client } = await import('../evidence/shipping/s3-client.ts');
  const access = loadObjectStoreAccess(io.env, endpointFlag);
  return new S3Client({ endpoint: access.endpoint, region: access.region, credentials: access.credentials });
}

export async function openLedgerInputs(io: CommandIO, args: string[], endpointFlag: string | undefined): Promise<LedgerInputs> {
  const { isS3Url, parseS3Url } = await import('../evidence/shipping/s3-url.ts');
  const remote = args.filter(isS3Url);
  if (remote.length === 0) return { inputs: await ledgerFiles(io, args), close: async () => undefined };
  if (remote.length !== args.length || remote.length > 1) {
    throw new PortcullisError(ErrorCodes.CONFIG, 'give one s3:// location (a pod\'s folder of shipped segments), without local files beside it');
  }
  const location = parseS3Url(remote[0]!);
  const client = await s3Client(io, endpointFlag);
  try {
    const { shippedLedgerSources } = await import('../evidence/shipping/shipped-ledger.ts');
    return { inputs: await shippedLedgerSources(client, location), shipped: { client, location }, close: () => client.close() };
  } catch (e) {
    await client.close();
    throw e;
  }
}

/** The text of a small object at an s3:// URL (a witnessed head). */
export async function readS3Text(io: CommandIO, url: string, endpointFlag: string | undefined): Promise<string> {
  const { parseS3Url } = await import('../evidence/shipping/s3-url.ts');
  const loc = parseS3Url(url, false);
  const client = await s3Client(io, endpointFlag);
  try {
    const data = await client.getSmallObject(loc.bucket, loc.prefix);
    if (!data) throw new PortcullisError(ErrorCodes.HEAD_NOT_WITNESSED, `${url} does not exist: no head was witnessed there`);
    return data.toString('utf8');
  } finally {
    await client.close();
  }
}
