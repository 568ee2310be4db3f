/**
 * `KubeApi` on `@kubernetes/client-node`: informers are client-node's
 * ListWatch on a Watch that asks for BOOKMARKs (so a reconnect resumes from a
 * recent resourceVersion instead of re-listing) and restarts after errors with
 * backoff (ListWatch stops on an error that is not 410 Gone).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  AdmissionregistrationV1Api,
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import {
  kubeStatusCode,
  type EventRecord,
  type Informer,
  type InformerHandlers,
  type InformerOptions,
  type KubeApi,
  type KubeObject,
  type Lease,
  type ResourceRef,
  type Secret,
  type ConfigMap,
  type WebhookKind,
  type TokenReviewResult,
} from './kube-api.ts';
import { impersonating, type Impersonated, type VerdictApi } from './impersonation.ts';

/**
 * How long a watch may go without a byte before the client takes the
 * connection for dead. kube-apiserver sends a quiet watch one BOOKMARK a
 * minute (and none at all for a resource it has seen no event of since it
 * started); client-node's default of 30 s cut every quiet watch twice a
 * minute.
 */
const WATCH_INACTIVITY_TIMEOUT_MS = 90_000;

/** Asks the server for BOOKMARKs and a server-side timeout on every watch. */
class BookmarkWatch extends Watch {
  constructor(config: KubeConfig) {
    super(config);
    // Private in client-node's typings, and the only way to set it.
    (this as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_INACTIVITY_TIMEOUT_MS;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    return super.watch(path, { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: 300 }, callback, done);
  }
}

function apiError(what: string, err: unknown): PortcullisError {
  const status = kubeStatusCode(err);
  const body = (err as { body?: unknown }).body;
  const cause = (err as { cause?: { code?: unknown } }).cause?.code;
  // undici says "fetch failed" and keeps the reason (ECONNREFUSED, …) in its cause.
  let detail = `${(err as Error).message}${typeof cause === 'string' ? ` (${cause})` : ''}`;
  try {
    const parsed = typeof body === 'string' ? JSON.parse(body) : body;
    if (parsed && typeof parsed === 'object' && 'message' in parsed) detail = String((parsed as { message: unknown }).message);
  } catch {
    // Not JSON: keep the client's message.
  }
  return new PortcullisError(ErrorCodes.KUBE_API, `Kubernetes API: ${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`, { status }, { cause: err });
}

async function call<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw apiError(what, e);
  }
}

function collectionPath(ref: ResourceRef, namespace?: string): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  return namespace && ref.namespaced ? `${base}/namespaces/${namespace}/${ref.plural}` : `${base}/${ref.plural}`;
}

export interface ClientNodeKubeApiOptions {
  /** First delay before restarting a failed watch; doubles up to 30 s. */
  restartDelayMs?: number;
}

export class ClientNodeKubeApi implements KubeApi {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly admission: AdmissionregistrationV1Api;
  private readonly authn: AuthenticationV1Api;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: ClientNodeKubeApiOptions = {},
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.admission = kc.makeApiClient(AdmissionregistrationV1Api);
    this.authn = kc.makeApiClient(AuthenticationV1Api);
  }

  /** From a kubeconfig file, or the in-cluster service account when none is given. */
  static load(kubeconfigPath?: string, options?: ClientNodeKubeApiOptions): ClientNodeKubeApi {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return new ClientNodeKubeApi(kc, options);
  }

  asBearer(token: string): KubeApi {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'bearer', token }],
      contexts: [{ name: 'bearer', cluster: cluster.name, user: 'bearer' }],
      currentContext: 'bearer',
    });
    return new ClientNodeKubeApi(kc, this.options);
  }

  impersonate(who: Impersonated): VerdictApi {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    return impersonating({ server: cluster.server, apply: (opts) => this.kc.applyToHTTPSOptions(opts) }, who);
  }

  /** The namespace of the kubeconfig's current context. */
  defaultNamespace(): string {
    const ctx = this.kc.getContextObject(this.kc.getCurrentContext());
    return ctx?.namespace ?? 'default';
  }

  private listFn<T extends KubeObject>(ref: ResourceRef, options: InformerOptions): () => Promise<KubernetesListObject<T & KubernetesObject>> {
    const { labelSelector, fieldSelector } = options;
    const ns = options.namespace;
    if (!ref.group && ref.plural === 'namespaces') {
      return () => this.core.listNamespace({ labelSelector, fieldSelector }) as Promise<any>;
    }
    if (!ref.group && ref.plural === 'secrets' && ns) {
      return () => this.core.listNamespacedSecret({ namespace: ns, labelSelector, fieldSelector }) as Promise<any>;
    }
    if (!ref.group) throw new PortcullisError(ErrorCodes.KUBE_API, `informer: core resource ${ref.plural} is not supported`);
    const { group, version, plural } = ref;
    return () =>
      (ns && ref.namespaced
        ? this.custom.listNamespacedCustomObject({ group, version, plural, namespace: ns, labelSelector, fieldSelector })
        : this.custom.listClusterCustomObject({ group, version, plural, labelSelector, fieldSelector })) as Promise<any>;
  }

  async informer<T extends KubeObject>(ref: ResourceRef, handlers: InformerHandlers<T>, options: InformerOptions = {}): Promise<Informer<T>> {
    // Resolved by the first list that succeeds: the cache is filled right after it.
    let markSynced!: () => void;
    const synced = new Promise<void>((resolve) => (markSynced = resolve));
    const list = this.listFn<T>(ref, options);
    const lw = new ListWatch<T & KubernetesObject>(
      collectionPath(ref, options.namespace),
      new BookmarkWatch(this.kc),
      async () => {
        const result = await list();
        markSynced();
        return result;
      },
      false,
      options.labelSelector,
      options.fieldSelector,
    );
    lw.on('add', (o) => handlers.upsert(o));
    lw.on('update', (o) => handlers.upsert(o));
    lw.on('delete', (o) => handlers.remove(o));
    const base = this.options.restartDelayMs ?? 1000;
    let delay = base;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let failing = false;
    lw.on('error', (err) => {
      if (stopped) return;
      failing = true;
      // The API server's own message (e.g. 429 "storage is (re)initializing" for a CRD just established), not client-node's dump of the response.
      options.onError?.(apiError(`list/watch ${ref.plural}`, err));
      timer = setTimeout(() => void lw.start(), delay);
      delay = Math.min(delay * 2, 30_000);
    });
    lw.on('connect', () => {
      if (!failing) delay = base;
      failing = false;
    });
    await lw.start();
    // The first list may fail (API not reachable yet): restarts continue until one succeeds.
    await synced;
    await new Promise((resolve) => setImmediate(resolve));
    return {
      list: () => lw.list(options.namespace) as readonly T[],
      get: (namespace, name) => lw.get(name, ref.namespaced ? namespace : undefined),
      stop: async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        await lw.stop();
      },
    };
  }

  list<T extends KubeObject>(ref: ResourceRef, namespace?: string): Promise<T[]> {
    const { group, version, plural } = ref;
    return call(`list ${plural}${namespace ? ` in ${namespace}` : ''}`, async () => {
      const list = (namespace
        ? await this.custom.listNamespacedCustomObject({ group, version, plural, namespace })
        : await this.custom.listClusterCustomObject({ group, version, plural })) as { items?: T[] };
      return list.items ?? [];
    });
  }

  async get<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string): Promise<T | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: ref.group, version: ref.version, plural: ref.plural, namespace, name })) as T;
    } catch (e) {
      if (kubeStatusCode(e) === 404) return undefined;
      throw apiError(`get ${ref.plural} ${namespace}/${name}`, e);
    }
  }

  create<T extends KubeObject>(ref: ResourceRef, obj: T): Promise<T> {
    const namespace = obj.metadata.namespace ?? 'default';
    return call(`create ${ref.plural} ${namespace}/${obj.metadata.name ?? obj.metadata.generateName}`, async () =>
      (await this.custom.createNamespacedCustomObject({ group: ref.group, version: ref.version, plural: ref.plural, namespace, body: obj })) as T,
    );
  }

  mergePatch<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string, patch: unknown): Promise<T> {
    return call(`patch ${ref.plural} ${namespace}/${name}`, async () =>
      (await this.custom.patchNamespacedCustomObject(
        { group: ref.group, version: ref.version, plural: ref.plural, namespace, name, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as T,
    );
  }

  patchStatus<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string, status: unknown): Promise<T> {
    return call(`patch ${ref.plural} ${namespace}/${name}/status`, async () =>
      (await this.custom.patchNamespacedCustomObjectStatus(
        { group: ref.group, version: ref.version, plural: ref.plural, namespace, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as T,
    );
  }

  async delete(ref: ResourceRef, namespace: string, name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({ group: ref.group, version: ref.version, plural: ref.plural, namespace, name });
    } catch (e) {
      if (kubeStatusCode(e) !== 404) throw apiError(`delete ${ref.plural} ${namespace}/${name}`, e);
    }
  }

  async recordEvent(event: EventRecord, source: string): Promise<void> {
    const now = new Date();
    const namespace = event.regarding.namespace ?? 'default';
    await call(`create event for ${event.regarding.kind} ${namespace}/${event.regarding.name}`, () =>
      this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${event.regarding.name}.${randomBytes(8).toString('hex')}`, namespace },
          involvedObject: { ...event.regarding, namespace },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: { component: source },
          reportingComponent: source,
          reportingInstance: source,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      }),
    );
  }

  async readLease(namespace: string, name: string): Promise<Lease | undefined> {
    try {
      return fromLease(await this.coordination.readNamespacedLease({ namespace, name }));
    } catch (e) {
      if (kubeStatusCode(e) === 404) return undefined;
      throw apiError(`read lease ${namespace}/${name}`, e);
    }
  }

  createLease(lease: Lease): Promise<Lease> {
    const namespace = lease.metadata.namespace ?? 'default';
    return call(`create lease ${namespace}/${lease.metadata.name}`, async () =>
      fromLease(await this.coordination.createNamespacedLease({ namespace, body: toLease(lease) })),
    );
  }

  replaceLease(lease: Lease): Promise<Lease> {
    const namespace = lease.metadata.namespace ?? 'default';
    const name = lease.metadata.name ?? '';
    return call(`replace lease ${namespace}/${name}`, async () =>
      fromLease(await this.coordination.replaceNamespacedLease({ namespace, name, body: toLease(lease) })),
    );
  }

  async readConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    try {
      return (await this.core.readNamespacedConfigMap({ namespace, name })) as ConfigMap;
    } catch (e) {
      if (kubeStatusCode(e) === 404) return undefined;
      throw apiError(`read configmap ${namespace}/${name}`, e);
    }
  }

  async writeConfigMap(cm: ConfigMap): Promise<void> {
    const namespace = cm.metadata.namespace ?? 'default';
    const name = cm.metadata.name ?? '';
    const body = { ...cm, apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...cm.metadata, resourceVersion: undefined } } as any;
    try {
      await this.core.createNamespacedConfigMap({ namespace, body });
    } catch (e) {
      if (kubeStatusCode(e) !== 409) throw apiError(`create configmap ${namespace}/${name}`, e);
      await call(`replace configmap ${namespace}/${name}`, () => this.core.replaceNamespacedConfigMap({ namespace, name, body }));
    }
  }

  async deleteConfigMap(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedConfigMap({ namespace, name });
    } catch (e) {
      if (kubeStatusCode(e) !== 404) throw apiError(`delete configmap ${namespace}/${name}`, e);
    }
  }

  whoAmI(): Promise<{ username: string; groups: string[] }> {
    return call('SelfSubjectReview', async () => {
      const r = await this.authn.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
      return { username: r.status?.userInfo?.username ?? '', groups: r.status?.userInfo?.groups ?? [] };
    });
  }

  reviewToken(token: string, audiences: string[]): Promise<TokenReviewResult> {
    return call('TokenReview', async () => {
      const r = await this.authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } } });
      const st = r.status ?? {};
      const user = st.user ?? {};
      const extra = user.extra ?? {};
      const podName = extra['authentication.kubernetes.io/pod-name']?.[0];
      const podUid = extra['authentication.kubernetes.io/pod-uid']?.[0];
      return {
        authenticated: st.authenticated === true,
        username: user.username,
        groups: user.groups ?? [],
        audiences: st.audiences,
        ...(podName && podUid ? { pod: { name: podName, uid: podUid } } : {}),
        error: st.error,
      };
    });
  }

  async readPod(namespace: string, name: string): Promise<Pod | undefined> {
    try {
      return (await this.core.readNamespacedPod({ namespace, name })) as Pod;
    } catch (e) {
      if (kubeStatusCode(e) === 404) return undefined;
      throw apiError(`read pod ${namespace}/${name}`, e);
    }
  }

  async readSecret(namespace: string, name: string): Promise<Secret | undefined> {
    try {
      return (await this.core.readNamespacedSecret({ namespace, name })) as Secret;
    } catch (e) {
      if (kubeStatusCode(e) === 404) return undefined;
      throw apiError(`read secret ${namespace}/${name}`, e);
    }
  }

  createSecret(secret: Secret): Promise<Secret> {
    const namespace = secret.metadata.namespace ?? 'default';
    return call(`create secret ${namespace}/${secret.metadata.name}`, async () =>
      (await this.core.createNamespacedSecret({ namespace, body: { ...secret, apiVersion: 'v1', kind: 'Secret' } as any })) as Secret,
    );
  }

  replaceSecret(secret: Secret): Promise<Secret> {
    const namespace = secret.metadata.namespace ?? 'default';
    const name = secret.metadata.name!;
    return call(`replace secret ${namespace}/${name}`, async () =>
      (await this.core.replaceNamespacedSecret({ namespace, name, body: { ...secret, apiVersion: 'v1', kind: 'Secret' } as any })) as Secret,
    );
  }

  async patchWebhookCaBundle(kind: WebhookKind, name: string, caBundle: string): Promise<void> {
    const current =
      kind === 'mutating'
        ? await call(`read mutatingwebhookconfiguration ${name}`, () => this.admission.readMutatingWebhookConfiguration({ name }))
        : await call(`read validatingwebhookconfiguration ${name}`, () => this.admission.readValidatingWebhookConfiguration({ name }));
    const ops = (current.webhooks ?? []).map((_, i) => ({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle }));
    if (ops.length === 0) return;
    const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    await call(`patch ${kind}webhookconfiguration ${name}`, () =>
      kind === 'mutating'
        ? this.admission.patchMutatingWebhookConfiguration({ name, body: ops }, json)
        : this.admission.patchValidatingWebhookConfiguration({ name, body: ops }, json),
    );
  }
}

// client-node turns RFC 3339 strings into Date objects (MicroTime fields); the seam speaks strings.
function fromLease(l: V1Lease): Lease {
  const iso = (d: unknown): string | undefined => (d instanceof Date ? d.toISOString() : (d as string | undefined));
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...(l.metadata as Lease['metadata']), creationTimestamp: iso(l.metadata?.creationTimestamp) },
    spec: {
      holderIdentity: l.spec?.holderIdentity,
      leaseDurationSeconds: l.spec?.leaseDurationSeconds,
      acquireTime: iso(l.spec?.acquireTime),
      renewTime: iso(l.spec?.renewTime),
      leaseTransitions: l.spec?.leaseTransitions,
    },
  };
}

function toLease(l: Lease): V1Lease {
  // V1MicroTime serialises with the six fractional digits the API server requires of a Lease's times.
  const date = (s: string | undefined): Date | undefined => (s ? new V1MicroTime(s) : undefined);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: l.metadata.name, namespace: l.metadata.namespace, resourceVersion: l.metadata.resourceVersion, labels: l.metadata.labels },
    spec: {
      holderIdentity: l.spec.holderIdentity,
      leaseDurationSeconds: l.spec.leaseDurationSeconds,
      acquireTime: date(l.spec.acquireTime) as any,
      renewTime: date(l.spec.renewTime) as any,
      leaseTransitions: l.spec.leaseTransitions,
    },
  };
}
