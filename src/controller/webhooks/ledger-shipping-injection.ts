/**
 * What the injector adds to a sidecar so that it ships its ledger: where to
 * (platform-owned, the same for every pod; the sidecar adds NAMESPACE/POD/UID),
 * and the credentials from a Secret in the pod's namespace, referenced by the
 * sidecar container alone: the agent's containers never see them. One Secret
 * per namespace lets the bucket policy confine each namespace's sidecars to
 * their own prefix.
 */
import type { EnvVar } from 'kubernetes-types/core/v1.js';

export interface LedgerShippingInjection {
  /** `s3://BUCKET/PREFIX` (PORTCULLIS_SHIP_TO). */
  to: string;
  endpoint: string;
  region: string;
  /** Secret in each agent namespace with keys `access-key-id` and `secret-access-key`. */
  secret: string;
}

export const DEFAULT_SHIPPING_SECRET = 'portcullis-ledger-shipping';

export function ledgerShippingEnv(s: LedgerShippingInjection): EnvVar[] {
  const fromSecret = (key: string): EnvVar['valueFrom'] => ({ secretKeyRef: { name: s.secret, key } });
  return [
    { name: 'PORTCULLIS_SHIP_TO', value: s.to },
    { name: 'PORTCULLIS_SHIP_ENDPOINT', value: s.endpoint },
    { name: 'PORTCULLIS_SHIP_REGION', value: s.region },
    // A pod name reused by a new pod is another ledger, in a folder of its own.
    { name: 'PORTCULLIS_POD_UID', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.uid' } } },
    { name: 'PORTCULLIS_SHIP_ACCESS_KEY_ID', valueFrom: fromSecret('access-key-id') },
    { name: 'PORTCULLIS_SHIP_SECRET_ACCESS_KEY', valueFrom: fromSecret('secret-access-key') },
  ];
}
