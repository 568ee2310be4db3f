/**
 * Keeps the `caBundle` of the controller's webhook configurations equal to
 * the CA its serving certificate chains to: patched at start, whenever the CA
 * changes (renewal), and whenever a configuration appears or changes under it
 * (re-applied manifests, `helm upgrade`, someone's edit), which it watches,
 * one object each (a name field selector, which RBAC grants by resourceNames).
 */
import type { Logger } from '../../telemetry/logger.ts';
import type { Informer, KubeApi, KubeObject, ResourceRef, WebhookKind } from '../k8s/kube-api.ts';

interface WebhookConfiguration extends KubeObject {
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

const REFS: Record<WebhookKind, ResourceRef> = {
  mutating: { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'mutatingwebhookconfigurations', kind: 'MutatingWebhookConfiguration', namespaced: false },
  validating: { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'validatingwebhookconfigurations', kind: 'ValidatingWebhookConfiguration', namespaced: false },
};

export interface CaBundleSyncOptions {
  kube: KubeApi;
  configurations: { kind: WebhookKind; name: string }[];
  logger: Logger;
}

export class CaBundleSync {
  private desired = '';
  private readonly informers: Informer<WebhookConfiguration>[] = [];

  constructor(private readonly o: CaBundleSyncOptions) {}

  /** Starts watching with `caPem` as the bundle; resolves with the configurations that do not exist (yet). */
  async start(caPem: string): Promise<string[]> {
    this.desired = Buffer.from(caPem, 'utf8').toString('base64');
    const missing: string[] = [];
    for (const { kind, name } of this.o.configurations) {
      const informer = await this.o.kube.informer<WebhookConfiguration>(
        REFS[kind],
        { upsert: (c) => void this.reconcile(kind, c), remove: () => this.o.logger.warn({ configuration: `${kind}webhookconfiguration/${name}` }, 'webhook configuration deleted; its caBundle is set again when it is re-created') },
        { fieldSelector: `metadata.name=${name}`, onError: (err) => this.o.logger.warn({ err: (err as Error)?.message }, `watch of ${kind}webhookconfiguration/${name} failed; restarting it`) },
      );
      this.informers.push(informer);
      if (!informer.get(undefined, name)) missing.push(`${kind}webhookconfiguration/${name}`);
    }
    return missing;
  }

  /** A new CA (renewal): every configuration gets it. */
  async set(caPem: string): Promise<void> {
    this.desired = Buffer.from(caPem, 'utf8').toString('base64');
    await Promise.all(
      this.o.configurations.map(async ({ kind, name }, i) => {
        const current = this.informers[i]?.get(undefined, name);
        if (current) await this.reconcile(kind, current);
      }),
    );
  }

  private async reconcile(kind: WebhookKind, c: WebhookConfiguration): Promise<void> {
    const hooks = c.webhooks ?? [];
    if (hooks.every((h) => h.clientConfig?.caBundle === this.desired)) return;
    try {
      await this.o.kube.patchWebhookCaBundle(kind, c.metadata.name!, this.desired);
      this.o.logger.info({ configuration: `${kind}webhookconfiguration/${c.metadata.name}` }, 'webhook caBundle set');
    } catch (e) {
      // The next change of the object (or of the CA) tries again.
      this.o.logger.warn({ configuration: `${kind}webhookconfiguration/${c.metadata.name}`, err: (e as Error).message }, 'could not set the webhook caBundle');
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
