/**
 * The last good bundle of every PolicyBundle, kept in a ConfigMap in the
 * controller's namespace, so that "a failing bundle keeps the last good one
 * serving" holds across controller restarts: a controller that starts while a
 * bundle's current generation is broken serves the stored one (its digest is
 * checked again on load). The leader writes; every replica may read.
 */
import { createHash } from 'node:crypto';
import { readBundleArchive } from '../../policy/bundle-archive.ts';
import type { CompiledBundle } from '../../policy/types.ts';
import type { KubeApi } from '../k8s/kube-api.ts';

const ARCHIVE = 'bundle.tar.gz';

export interface StoredBundle {
  archive: Uint8Array;
  bundle: CompiledBundle;
  generation: number;
}

export class LastGoodBundles {
  constructor(
    private readonly kube: KubeApi,
    private readonly namespace: string,
  ) {}

  /** One ConfigMap per PolicyBundle; the name is derived from `namespace/name` (always a valid name). */
  configMapName(key: string): string {
    return `portcullis-bundle-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
  }

  async save(key: string, archive: Uint8Array, digest: string, generation: number): Promise<void> {
    await this.kube.writeConfigMap({
      metadata: {
        name: this.configMapName(key),
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': 'portcullis', 'app.kubernetes.io/component': 'last-good-bundle' },
        annotations: { 'portcullis.dev/bundle': key, 'portcullis.dev/digest': digest },
      },
      data: { bundle: key, digest, generation: String(generation) },
      binaryData: { [ARCHIVE]: Buffer.from(archive).toString('base64') },
    });
  }

  /** The stored bundle, or undefined; throws PortcullisError BUNDLE_* when what is stored does not check out. */
  async load(key: string): Promise<StoredBundle | undefined> {
    const cm = await this.kube.readConfigMap(this.namespace, this.configMapName(key));
    const b64 = cm?.binaryData?.[ARCHIVE];
    if (!cm || !b64 || cm.data?.bundle !== key) return undefined;
    const archive = new Uint8Array(Buffer.from(b64, 'base64'));
    const bundle = await readBundleArchive(archive);
    if (cm.data.digest && cm.data.digest !== bundle.digest) return undefined;
    return { archive, bundle, generation: Number(cm.data.generation ?? 0) };
  }

  async forget(key: string): Promise<void> {
    await this.kube.deleteConfigMap(this.namespace, this.configMapName(key));
  }
}
