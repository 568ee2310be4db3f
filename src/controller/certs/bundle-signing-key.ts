/**
 * The key the controller signs bundles with (src/policy/bundle-signing.ts),
 * kept in a Secret of its own namespace so that every replica signs with the
 * same key: read at start, made when missing (the first replica to create it
 * wins; the others read what it wrote). The Secret holds
 *   `ed25519.key`  the private key (PKCS#8 PEM), which never leaves the controller
 *   `ed25519.pub`  its public key, given to every injected sidecar
 *   `trusted.pub`  optional: more public keys sidecars are given, for a rotation
 * Every replica watches the Secret: a changed key signs from then on (the
 * bundles being served are signed again) and newly injected sidecars get the
 * changed public keys, without a restart. A rotation (docs/kubernetes.md):
 * put the new public key in `trusted.pub` and let pods be re-created; then
 * make the new key `ed25519.key`/`ed25519.pub`.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { createBundleSigner, parseBundleVerificationKeys, type BundleSigner } from '../../policy/bundle-signing.ts';
import { writeBundleArchive } from '../../policy/bundle-archive.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { kubeStatusCode, type Informer, type KubeApi, type ResourceRef, type Secret } from '../k8s/kube-api.ts';
import type { BundleStore } from '../bundles/bundle-store.ts';

const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };

export const PRIVATE_KEY = 'ed25519.key';
export const PUBLIC_KEY = 'ed25519.pub';
export const TRUSTED_KEYS = 'trusted.pub';

export interface BundleSigning {
  signer: BundleSigner;
  /** PEM text of every public key a sidecar is to trust: the signing key's first, then `trusted.pub`'s. */
  publicKeysPem: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');
const withNewline = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

function fromSecret(s: Secret, where: string): BundleSigning {
  const privatePem = unb64(s.data?.[PRIVATE_KEY]);
  if (!privatePem) throw new PortcullisError(ErrorCodes.CONFIG, `Secret ${where} has no ${PRIVATE_KEY}: bundles cannot be signed (delete the Secret to have a key made, or add one)`);
  const signer = createBundleSigner(privatePem);
  // The public key is derived from the private one: a stale ed25519.pub cannot make sidecars trust another key.
  const own = createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString();
  const trusted = unb64(s.data?.[TRUSTED_KEYS]).trim();
  if (trusted) parseBundleVerificationKeys(trusted, `Secret ${where} key ${TRUSTED_KEYS}`);
  return { signer, publicKeysPem: withNewline(own) + (trusted ? withNewline(trusted) : '') };
}

/** The signing key from `namespace/name`, made and stored there when the Secret does not exist. */
export async function loadBundleSigning(o: { kube: KubeApi; namespace: string; secretName: string; logger: Logger }): Promise<BundleSigning> {
  const where = `${o.namespace}/${o.secretName}`;
  const existing = await o.kube.readSecret(o.namespace, o.secretName);
  if (existing) {
    const signing = fromSecret(existing, where);
    o.logger.info({ secret: where, keyId: signing.signer.keyId }, 'bundle signing key loaded');
    return signing;
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const secret: Secret = {
    metadata: { name: o.secretName, namespace: o.namespace, labels: { 'app.kubernetes.io/name': 'portcullis', 'app.kubernetes.io/component': 'bundle-signing' } },
    type: 'Opaque',
    data: { [PRIVATE_KEY]: b64(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), [PUBLIC_KEY]: b64(publicKey.export({ type: 'spki', format: 'pem' }).toString()) },
  };
  try {
    const written = await o.kube.createSecret(secret);
    const signing = fromSecret(written, where);
    o.logger.info({ secret: where, keyId: signing.signer.keyId }, 'bundle signing key made');
    return signing;
  } catch (e) {
    // Another replica made it first: sign with its key.
    if (kubeStatusCode(e) !== 409) throw e;
    const theirs = await o.kube.readSecret(o.namespace, o.secretName);
    if (!theirs) throw new PortcullisError(ErrorCodes.KUBE_API, `Secret ${where} was created by another replica but cannot be read`);
    return fromSecret(theirs, where);
  }
}

export interface BundleSigningKeyOptions {
  kube: KubeApi;
  namespace: string;
  secretName: string;
  logger: Logger;
}

/**
 * The signing key as it is now: loaded (or made) at start, then kept in step
 * with the Secret. `signer` always signs with the current key.
 */
export class BundleSigningKey {
  private current: BundleSigning;
  private readonly listeners: ((next: BundleSigning) => void)[] = [];
  private informer: Informer<Secret> | undefined;
  /** Signs with whichever key is current when called. */
  readonly signer: BundleSigner;

  private constructor(
    private readonly o: BundleSigningKeyOptions,
    first: BundleSigning,
  ) {
    this.current = first;
    const self = this;
    this.signer = {
      get keyId() {
        return self.current.signer.keyId;
      },
      signatures: (files) => self.current.signer.signatures(files),
      sign: (data) => self.current.signer.sign(data),
    };
  }

  static async start(o: BundleSigningKeyOptions): Promise<BundleSigningKey> {
    const key = new BundleSigningKey(o, await loadBundleSigning(o));
    const where = `${o.namespace}/${o.secretName}`;
    key.informer = await o.kube.informer<Secret>(
      SECRETS,
      { upsert: (s) => key.seen(s), remove: () => o.logger.warn({ secret: where }, 'bundle signing key Secret deleted; signing on with the key loaded (a replica started now makes a new one)') },
      { namespace: o.namespace, fieldSelector: `metadata.name=${o.secretName}`, onError: (err) => o.logger.warn({ err: (err as Error)?.message }, `watch of Secret ${where} failed; restarting it`) },
    );
    return key;
  }

  get publicKeysPem(): string {
    return this.current.publicKeysPem;
  }

  onChange(listener: (next: BundleSigning) => void): void {
    this.listeners.push(listener);
  }

  private seen(s: Secret): void {
    const where = `${this.o.namespace}/${this.o.secretName}`;
    let next: BundleSigning;
    try {
      next = fromSecret(s, where);
    } catch (e) {
      this.o.logger.error({ secret: where, err: (e as Error).message }, 'the bundle signing key Secret changed into one that cannot be used; signing on with the key loaded');
      return;
    }
    if (next.signer.keyId === this.current.signer.keyId && next.publicKeysPem === this.current.publicKeysPem) return;
    this.current = next;
    this.o.logger.info({ secret: where, keyId: next.signer.keyId }, 'bundle signing key changed: signing with it from now on');
    for (const l of this.listeners) l(next);
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }
}

/**
 * Signs again every bundle being served, with `signer`'s current key: a sidecar
 * that fetches from now on gets the new signature. The tags do not change, so
 * sidecars that already verified a bundle keep it.
 */
export async function resignServed(store: BundleStore, signer: BundleSigner): Promise<void> {
  for (const key of store.keys()) {
    const served = store.get(key);
    if (!served) continue;
    const archive = await writeBundleArchive(served.bundle, { signer });
    // A build published meanwhile was signed with the current key already: leave it.
    if (store.get(key) === served) store.publish({ ...served, archive });
  }
}
