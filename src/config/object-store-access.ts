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

type First = (...names: string[]) => string;

function endpointOf(first: First, endpointFlag: string | undefined, region: string): string {
  const endpoint = (endpointFlag?.trim() || first('AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'PORTCULLIS_SHIP_ENDPOINT') || `https://s3.${region}.amazonaws.com`).replace(/\/$/, '');
  if (!/^https?:\/\/[^/\s]+$/i.test(endpoint)) {
    throw new PortcullisError(ErrorCodes.CONFIG, `the S3 endpoint ${JSON.stringify(endpoint)} is not an http(s)://HOST[:PORT] URL (--s3-endpoint or AWS_ENDPOINT_URL_S3)`, { setting: 'AWS_ENDPOINT_URL_S3' });
  }
  return endpoint;
}

/** The variables of each set of credentials: access key ID, secret, session token. */
const AWS_CREDENTIALS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
const SHIP_CREDENTIALS = ['PORTCULLIS_SHIP_ACCESS_KEY_ID', 'PORTCULLIS_SHIP_SECRET_ACCESS_KEY', 'PORTCULLIS_SHIP_SESSION_TOKEN'] as const;

/** AWS's credentials when AWS_ACCESS_KEY_ID is set, else the sidecar's shipping ones: never a mix of the two. */
function credentialsOf(first: First): S3Credentials {
  const [idVar, secretVar, tokenVar] = first('AWS_ACCESS_KEY_ID') !== '' ? AWS_CREDENTIALS : SHIP_CREDENTIALS;
  const accessKeyId = first(idVar);
  const secretAccessKey = first(secretVar);
  if (!accessKeyId || !secretAccessKey) {
    throw new PortcullisError(ErrorCodes.CONFIG, 'reading s3:// needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (read-only access to the bucket is enough)', { setting: 'AWS_ACCESS_KEY_ID' });
  }
  const sessionToken = first(tokenVar);
  return Object.freeze({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) });
}

export function loadObjectStoreAccess(env: Env, endpointFlag?: string): Readonly<ObjectStoreAccess> {
  const first: First = (...names) => names.map((n) => (env[n] ?? '').trim()).find(Boolean) ?? '';
  const region = first('AWS_REGION', 'AWS_DEFAULT_REGION', 'PORTCULLIS_SHIP_REGION') || 'us-east-1';
  const endpoint = endpointOf(first, endpointFlag, region);
  return Object.freeze({ endpoint, region, credentials: credentialsOf(first) });
}
