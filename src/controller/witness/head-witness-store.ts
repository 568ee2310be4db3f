/**
 * Where the controller keeps the latest witnessed head of every pod's ledger,
 * beyond the pod's life. The store is object storage under a prefix of its
 * own (`s3://BUCKET/witness/` by default), written with the controller's
 * credentials: the bucket policy gives sidecars write access to the ledgers
 * prefix only, so a sidecar (or whoever holds its credentials) can rewrite
 * its shipped ledger but not the head that exposes the rewrite.
 * One object per pod: `PREFIX/NAMESPACE/POD.json`, or `PREFIX/NAMESPACE/POD/UID.json`
 * when the sidecar knows its pod's UID (a name reused by a new pod is then
 * another ledger, not a regression).
 */
import { bodyDigests, type S3Client } from '../../evidence/shipping/s3-client.ts';
import type { S3Location } from '../../evidence/shipping/s3-url.ts';
import { parseWitnessedHead, type WitnessedHead } from '../../evidence/shipping/witnessed-head.ts';

export interface HeadWitnessStore {
  get(namespace: string, pod: string, uid?: string): Promise<WitnessedHead | undefined>;
  put(head: WitnessedHead): Promise<void>;
}

/** The object key of a pod's witnessed head under `prefix`. */
export function witnessKey(prefix: string, namespace: string, pod: string, uid?: string): string {
  return `${prefix}${namespace}/${pod}${uid ? `/${uid}` : ''}.json`;
}

export class ObjectStoreHeadWitnessStore implements HeadWitnessStore {
  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
  ) {}

  async get(namespace: string, pod: string, uid?: string): Promise<WitnessedHead | undefined> {
    const data = await this.client.getSmallObject(this.location.bucket, witnessKey(this.location.prefix, namespace, pod, uid));
    return data ? parseWitnessedHead(JSON.parse(data.toString('utf8'))) : undefined;
  }

  async put(head: WitnessedHead): Promise<void> {
    const data = Buffer.from(JSON.stringify(head, null, 2) + '\n');
    await this.client.putObject(this.location.bucket, witnessKey(this.location.prefix, head.namespace, head.pod, head.uid), {
      data,
      ...bodyDigests(data),
      contentType: 'application/json',
    });
  }
}
