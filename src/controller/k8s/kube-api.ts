/**
 * The controller's one seam to the Kubernetes API. Everything the controller
 * and the `approve` command need from a cluster goes through this interface;
 * `client-node-kube-api.ts` implements it with `@kubernetes/client-node`, and
 * nothing else in the product imports that library.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Impersonated, VerdictApi } from './impersonation.ts';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: unknown[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** A resource type the seam can list and watch. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export interface InformerHandlers<T extends KubeObject> {
  upsert(obj: T): void;
  remove(obj: T): void;
}

/** A running list+watch: a local cache kept current, restarted on errors. */
export interface Informer<T extends KubeObject> {
  list(): readonly T[];
  get(namespace: string | undefined, name: string): T | undefined;
  stop(): Promise<void>;
}

export interface InformerOptions {
  /** Watch one namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  /** e.g. `metadata.name=NAME`: one object, which RBAC can grant by resourceNames. */
  fieldSelector?: string;
  /** Called when the watch fails and before it is restarted (for a log line). */
  onError?: (err: unknown) => void;
}

/** A Kubernetes Event about an object (what `kubectl describe` shows). */
export interface EventRecord {
  regarding: { apiVersion: string; kind: string; namespace?: string; name: string; uid?: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec: LeaseSpec;
}

export interface Secret extends KubeObject {
  type?: string;
  /** base64 values, as the API returns them. */
  data?: Record<string, string>;
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  /** base64 values. */
  binaryData?: Record<string, string>;
}

export type WebhookKind = 'mutating' | 'validating';

/** What the API server says about a bearer token (TokenReview status). */
export interface TokenReviewResult {
  authenticated: boolean;
  /** `system:serviceaccount:NAMESPACE:NAME` for a service account token. */
  username?: string;
  /** The groups the API server puts the user in. */
  groups?: string[];
  /** The requested audiences the token is valid for. */
  audiences?: string[];
  /** The pod a projected token is bound to (the review's user.extra), when it is. */
  pod?: { name: string; uid: string };
  error?: string;
}

export interface KubeApi {
  /** Lists, then watches; resolves once the first list is in the cache. */
  informer<T extends KubeObject>(ref: ResourceRef, handlers: InformerHandlers<T>, options?: InformerOptions): Promise<Informer<T>>;
  /** Custom objects of the `portcullis.dev` group (any group served under /apis). */
  list<T extends KubeObject>(ref: ResourceRef, namespace?: string): Promise<T[]>;
  get<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string): Promise<T | undefined>;
  create<T extends KubeObject>(ref: ResourceRef, obj: T): Promise<T>;
  /** RFC 7386 merge patch of the main resource. */
  mergePatch<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string, patch: unknown): Promise<T>;
  /** Merge patch of the status subresource: `{ status: … }`. */
  patchStatus<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string, status: unknown): Promise<T>;
  delete(ref: ResourceRef, namespace: string, name: string): Promise<void>;
  recordEvent(event: EventRecord, source: string): Promise<void>;
  readLease(namespace: string, name: string): Promise<Lease | undefined>;
  createLease(lease: Lease): Promise<Lease>;
  /** Replaces a lease; fails with a conflict when its resourceVersion is stale. */
  replaceLease(lease: Lease): Promise<Lease>;
  readSecret(namespace: string, name: string): Promise<Secret | undefined>;
  readConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  /** Creates the ConfigMap, or replaces it when it exists. */
  writeConfigMap(configMap: ConfigMap): Promise<void>;
  deleteConfigMap(namespace: string, name: string): Promise<void>;
  /** Who the credentials authenticate as (SelfSubjectReview). */
  whoAmI(): Promise<{ username: string; groups: string[] }>;
  /** Asks the API server who a bearer token belongs to (TokenReview), for one of `audiences`. */
  reviewToken(token: string, audiences: string[]): Promise<TokenReviewResult>;
  /**
   * The same API server, as the holder of `token` (a person's bearer token):
   * what they ask is then authorised by RBAC and admitted by the webhooks as
   * theirs. Absent where the client cannot be rebuilt (test doubles).
   */
  asBearer?(token: string): KubeApi;
  /**
   * The same API server, with this client's credentials impersonating a
   * person (`Impersonate-User`, `Impersonate-Group`): authorised and
   * admitted as theirs, refused unless this client may impersonate them.
   * Absent where the client cannot be rebuilt (test doubles).
   */
  impersonate?(who: Impersonated): VerdictApi;
  /** A pod by name; undefined when it does not exist. */
  readPod(namespace: string, name: string): Promise<Pod | undefined>;
  /** Creates a secret; fails with a conflict (409) when it exists. */
  createSecret(secret: Secret): Promise<Secret>;
  /** Replaces a secret; fails with a conflict (409) when its resourceVersion is stale. */
  replaceSecret(secret: Secret): Promise<Secret>;
  /** Sets `clientConfig.caBundle` on every webhook of one configuration. */
  patchWebhookCaBundle(kind: WebhookKind, name: string, caBundle: string): Promise<void>;
}

/** HTTP status of a failed API call (404, 409, …), or undefined for other errors. */
export function kubeStatusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; details?: { status?: unknown } } | null;
  if (e && typeof e.details?.status === 'number') return e.details.status;
  if (e && typeof e.code === 'number') return e.code;
  if (e && typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}
