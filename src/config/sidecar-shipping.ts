/**
 * The controller's setting of where injected sidecars ship their ledgers:
 * platform-owned (the controller's environment, the chart's values), never a
 * pod's annotation. Read once, validated, frozen; unset, sidecars keep their
 * ledger on their volume only.
 *
 *   PORTCULLIS_SIDECAR_SHIP_TO        s3://BUCKET/PREFIX
 *   PORTCULLIS_SIDECAR_SHIP_ENDPOINT  the S3 API sidecars reach
 *   PORTCULLIS_SIDECAR_SHIP_REGION    default us-east-1
 *   PORTCULLIS_SIDECAR_SHIP_SECRET    the Secret in each agent namespace holding access-key-id and secret-access-key
 *                                     (default portcullis-ledger-shipping)
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { parseS3Url } from '../evidence/shipping/s3-url.ts';
import { DEFAULT_SHIPPING_SECRET, type LedgerShippingInjection } from '../controller/webhooks/ledger-shipping-injection.ts';

type Env = Record<string, string | undefined>;

export function loadSidecarShippingConfig(env: Env): Readonly<LedgerShippingInjection> | undefined {
  const get = (name: string): string => (env[name] ?? '').trim();
  const to = get('PORTCULLIS_SIDECAR_SHIP_TO');
  if (!to) return undefined;
  parseS3Url(to, true, 'PORTCULLIS_SIDECAR_SHIP_TO');
  const endpoint = get('PORTCULLIS_SIDECAR_SHIP_ENDPOINT').replace(/\/$/, '');
  if (!/^https?:\/\/[^/\s]+$/i.test(endpoint)) {
    throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_SIDECAR_SHIP_ENDPOINT must be the S3 API's http(s)://HOST[:PORT] (PORTCULLIS_SIDECAR_SHIP_TO is set), got ${JSON.stringify(endpoint)}`, { setting: 'PORTCULLIS_SIDECAR_SHIP_ENDPOINT' });
  }
  const secret = get('PORTCULLIS_SIDECAR_SHIP_SECRET') || DEFAULT_SHIPPING_SECRET;
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(secret)) {
    throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_SIDECAR_SHIP_SECRET=${JSON.stringify(secret)} is not a Secret name`, { setting: 'PORTCULLIS_SIDECAR_SHIP_SECRET' });
  }
  return Object.freeze({ to, endpoint, region: get('PORTCULLIS_SIDECAR_SHIP_REGION') || 'us-east-1', secret });
}
