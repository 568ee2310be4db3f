/**
 * Where the controller keeps witnessed ledger heads: object storage under a
 * prefix the sidecars' credentials cannot write (head-witness-store.ts), with
 * the controller's own credentials. Read once, validated, frozen; unset
 * (PORTCULLIS_WITNESS_STORE empty) the controller witnesses nothing.
 *
 *   PORTCULLIS_WITNESS_STORE             s3://BUCKET/PREFIX, e.g. s3://portcullis-evidence/witness/
 *   PORTCULLIS_WITNESS_S3_ENDPOINT       the S3 API (http(s)://HOST[:PORT])
 *   PORTCULLIS_WITNESS_S3_REGION         default us-east-1
 *   PORTCULLIS_WITNESS_S3_ACCESS_KEY_ID, PORTCULLIS_WITNESS_S3_SECRET_ACCESS_KEY
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { parseS3Url, type S3Location } from '../evidence/shipping/s3-url.ts';
import type { ObjectStoreAccess } from './object-store-access.ts';

export interface WitnessStoreConfig {
  location: S3Location;
  access: ObjectStoreAccess;
}

type Env = Record<string, string | undefined>;

export function loadWitnessStoreConfig(env: Env): Readonly<WitnessStoreConfig> | undefined {
  const get = (name: string): string => (env[name] ?? '').trim();
  const url = get('PORTCULLIS_WITNESS_STORE');
  if (!url) return undefined;
  const location = parseS3Url(url, true, 'PORTCULLIS_WITNESS_STORE');
  const endpoint = get('PORTCULLIS_WITNESS_S3_ENDPOINT').replace(/\/$/, '');
  if (!/^https?:\/\/[^/\s]+$/i.test(endpoint)) {
    throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_WITNESS_S3_ENDPOINT must be the S3 API's http(s)://HOST[:PORT] (PORTCULLIS_WITNESS_STORE is set), got ${JSON.stringify(endpoint)}`, { setting: 'PORTCULLIS_WITNESS_S3_ENDPOINT' });
  }
  const accessKeyId = get('PORTCULLIS_WITNESS_S3_ACCESS_KEY_ID');
  const secretAccessKey = get('PORTCULLIS_WITNESS_S3_SECRET_ACCESS_KEY');
  if (!accessKeyId || !secretAccessKey) {
    throw new PortcullisError(ErrorCodes.CONFIG, 'PORTCULLIS_WITNESS_S3_ACCESS_KEY_ID and PORTCULLIS_WITNESS_S3_SECRET_ACCESS_KEY must both be set (PORTCULLIS_WITNESS_STORE is set)', { setting: 'PORTCULLIS_WITNESS_S3_ACCESS_KEY_ID' });
  }
  return Object.freeze({
    location: Object.freeze(location),
    access: Object.freeze({ endpoint, region: get('PORTCULLIS_WITNESS_S3_REGION') || 'us-east-1', credentials: Object.freeze({ accessKeyId, secretAccessKey }) }),
  });
}
