/**
 * How the command line reaches object storage to read shipped ledgers
 * (`portcullis verify s3://…`, `replay s3://…`): the usual AWS variables, so
 * an auditor's existing setup works, with the sidecar's names as a fallback.
 * Read once, validated, frozen.
 *
 *   endpoint:    --s3-endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, PORTCULLIS_SHIP_ENDPOINT
 *                (default https://s3.REGION.amazonaws.com)
 *   region:      AWS_REGION, AWS_DEFAULT_REGION, PORTCULLIS_SHIP_REGION (default us-east-1)
 *   credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
 *                else PORTCULLIS_SHIP_ACCESS_KEY_ID + PORTCULLIS_SHIP_SECRET_ACCESS_KEY
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { S3Credentials } from '../evidence/shipping/sigv4.ts';

export interface ObjectStoreAccess {
  endpoint: string;
  region: string;
  credentials: S3Credentials;
}

type Env = Record<string, string | undefined>;

export function loadObjectStoreAccess(env: Env, endpointFlag?: string): Readonly<ObjectStoreAccess> {
  const first = (...names: string[]): string => names.map((n) => (env[n] ?? '').trim()).find(Boolean) ?? '';
  const region = first('AWS_REGION', 'AWS_DEFAULT_REGION', 'PORTCULLIS_SHIP_REGION') || 'us-east-1';
  const endpoint = (endpointFlag?.trim() || first('AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'PORTCULLIS_SHIP_ENDPOINT') || `https://s3.${region}.amazonaws.com`).replace(/\/$/, '');
  if (!/^https?:\/\/[^/\s]+$/i.test(endpoint)) {
    throw new PortcullisError(ErrorCodes.CONFIG, `the S3 endpoint ${JSON.stringify(endpoint)} is not an http(s)://HOST[:PORT] URL (--s3-endpoint or AWS_ENDPOINT_URL_S3)`, { setting: 'AWS_ENDPOINT_URL_S3' });
  }
  const aws = first('AWS_ACCESS_KEY_ID') !== '';
  const accessKeyId = aws ? first('AWS_ACCESS_KEY_ID') : first('PORTCULLIS_SHIP_ACCESS_KEY_ID');
  const secretAccessKey = aws ? first('AWS_SECRET_ACCESS_KEY') : first('PORTCULLIS_SHIP_SECRET_ACCESS_KEY');
  if (!accessKeyId || !secretAccessKey) {
    throw new PortcullisError(ErrorCodes.CONFIG, 'reading s3:// needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (read-only access to the bucket is enough)', { setting: 'AWS_ACCESS_KEY_ID' });
  }
  const sessionToken = aws ? first('AWS_SESSION_TOKEN') : first('PORTCULLIS_SHIP_SESSION_TOKEN');
  return Object.freeze({ endpoint, region, credentials: Object.freeze({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }) });
}
