/**
 * Sidecar injection as a pure function: a pod (as the API server is about to
 * store it) and the namespace's labels in, a JSONPatch out (design.md §6).
 * No I/O here: `admission.ts` does the AdmissionReview plumbing.
 *
 * The sidecar is a native sidecar (an init container with
 * `restartPolicy: Always`): it starts, loads its bundle and passes its startup
 * probe before the agent's containers start, so no call escapes the gate
 * during start-up, and it does not keep Jobs from completing.
 */
import type { Container, EnvVar, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { ledgerShippingEnv, type LedgerShippingInjection } from './ledger-shipping-injection.ts';
import { TOKEN_AUDIENCE } from '../approvals/caller-auth.ts';
import { captureEnv, captureInitContainer, DEFAULT_CAPTURE, type CaptureInjection } from './capture-injection.ts';
import { namespaceEnforcement, policyRefusal, type AllowedMode } from './namespace-enforcement.ts';
import { firstAnswer } from '../first-refusal.ts';
import type { LedgerDurability } from '../../evidence/ledger.ts';

export const SIDECAR_NAME = 'portcullis-sidecar';
/** Pod annotation (or label) that asks for the sidecar. */
export const ANNOTATION_INJECT = 'portcullis.dev/inject';
export const ANNOTATION_POLICY = 'portcullis.dev/policy';
export const ANNOTATION_MODE = 'portcullis.dev/mode';
/** Set on injected pods; its presence makes injection a no-op. */
export const ANNOTATION_INJECTED = 'portcullis.dev/injected';
export const NAMESPACE_LABEL = 'portcullis.dev/injection';
/** Where the sidecar finds its projected service account token for the controller's approvals API. */
export const TOKEN_DIR = '/var/run/secrets/portcullis';
export const TOKEN_VOLUME = 'portcullis-token';
/** Where the sidecar finds the tool credentials that catalog tools name, and the Secret they come from. */
export const CREDENTIALS_DIR = '/var/run/secrets/portcullis-credentials';
export const CREDENTIALS_VOLUME = 'portcullis-credentials';
export const CREDENTIALS_SECRET = 'portcullis-credentials';

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

export interface InjectionConfig {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Where sidecars fetch bundles and send approvals, e.g. http://portcullis-controller.portcullis-system.svc:8080 */
  controllerUrl: string;
  /**
   * The controller's approval page as people reach it (an ingress, a
   * port-forward), given to sidecars as PORTCULLIS_APPROVAL_PAGE_URL: the
   * address MCP clients show. Unset: sidecars name the page at controllerUrl,
   * an in-cluster address.
   */
  approvalPageUrl?: string | undefined;
  /** CA (PEM) sidecars trust for an https controllerUrl; given to them as PORTCULLIS_CONTROLLER_CA. */
  controllerCa?: string;
  /** PEM public keys bundles are signed with (certs/bundle-signing-key.ts); given to sidecars as PORTCULLIS_BUNDLE_PUBLIC_KEY. */
  bundlePublicKeys?: string;
  /**
   * OTLP/HTTP base URL the sidecar exports its spans to. Unset: the sidecar
   * exports none (the OpenTelemetry default, localhost:4318, is nothing in the pod).
   */
  otelEndpoint?: string;
  proxyPort: number;
  adminPort: number;
  /** Bundle name used when a pod names none (in the pod's namespace). */
  defaultPolicy: string;
  logLevel: string;
  resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
  /** Where sidecars ship their ledgers (platform-owned); undefined: they keep them on their volume. */
  ledgerShipping?: LedgerShippingInjection | undefined;
  /** Traffic capture for every injected pod (capture-injection.ts); undefined: none (the proxy environment only). */
  capture?: CaptureInjection | undefined;
  /** The namespace's Secret of tool credentials, mounted into the sidecar alone (optional: absent, none). */
  credentialsSecret?: string | undefined;
  /** Pull secrets for the sidecar image, added to each injected pod (they must exist in its namespace). */
  imagePullSecrets?: readonly string[] | undefined;
  /** Size limit of the ledger's emptyDir (default 256Mi); past it the kubelet evicts the pod. */
  ledgerVolumeSize?: string | undefined;
  /**
   * Rotated ledger segments a sidecar that does not ship keeps (its
   * PORTCULLIS_LEDGER_KEEP_SEGMENTS): with 64 MiB segments, 2 keep the volume
   * under 256Mi; 0 keeps all (size the volume for the pod's lifetime).
   */
  ledgerKeepSegments?: number | undefined;
  /** The sidecar's PORTCULLIS_LEDGER_DURABILITY; unset: its default, `fsync`. */
  ledgerDurability?: LedgerDurability | undefined;
}

export const DEFAULT_INJECTION: Readonly<Omit<InjectionConfig, 'image' | 'controllerUrl'>> = Object.freeze({
  imagePullPolicy: 'IfNotPresent',
  proxyPort: 7070,
  adminPort: 7071,
  defaultPolicy: 'default',
  logLevel: 'info',
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  capture: DEFAULT_CAPTURE,
  credentialsSecret: CREDENTIALS_SECRET,
  ledgerKeepSegments: 2,
});

export interface InjectionInput {
  pod: Pod;
  /** The pod's namespace (AdmissionReview request.namespace: the pod may not carry it yet). */
  namespace: string;
  namespaceLabels: Record<string, string>;
  /** The namespace's annotations: which bundles and modes its pods may choose (namespace-enforcement.ts). */
  namespaceAnnotations?: Record<string, string>;
}

/** `mode` is the annotation's, or MODE_FROM_BUNDLE when the pod sets none. */
export type InjectionResult = { inject: false; reason: string } | { inject: true; patch: JsonPatchOp[]; policy: string; mode: string };

/**
 * The mode of a pod without `portcullis.dev/mode`: the sidecar gets no
 * PORTCULLIS_MODE and runs the mode its bundle carries (PolicyBundle
 * `spec.mode`), else enforce.
 */
export const MODE_FROM_BUNDLE = 'bundle';

/** `~` and `/` escaped for a JSON pointer segment (RFC 6901). */
function ptr(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Whether a pod gets the sidecar, and why (for the admission log line). */
export interface InjectionAnswer {
  inject: boolean;
  reason: string;
}

function alreadyInjected({ pod }: InjectionInput): InjectionAnswer | undefined {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  if (pod.metadata?.annotations?.[ANNOTATION_INJECTED] === undefined && !containers.some((c) => c.name === SIDECAR_NAME)) return undefined;
  return { inject: false, reason: 'already injected' };
}

function onHostNetwork({ pod }: InjectionInput): InjectionAnswer | undefined {
  if (!pod.spec?.hostNetwork) return undefined;
  return { inject: false, reason: 'hostNetwork pods share the node network; not injected' };
}

function podAsks({ pod }: InjectionInput): InjectionAnswer | undefined {
  // The label is the form the API server can select on (fail-closed webhook); the annotation works too.
  const podSays = pod.metadata?.annotations?.[ANNOTATION_INJECT] ?? pod.metadata?.labels?.[ANNOTATION_INJECT];
  if (podSays === 'false') return { inject: false, reason: `${ANNOTATION_INJECT}=false` };
  if (podSays === 'true') return { inject: true, reason: `${ANNOTATION_INJECT}=true` };
  return undefined;
}

function namespaceAsks({ namespaceLabels }: InjectionInput): InjectionAnswer | undefined {
  if (namespaceLabels[NAMESPACE_LABEL] !== 'enabled') return undefined;
  return { inject: true, reason: `namespace label ${NAMESPACE_LABEL}=enabled` };
}

/** The first that answers decides; a pod none answers is not injected. */
const INJECTION_QUESTIONS: readonly ((input: InjectionInput) => InjectionAnswer | undefined)[] = [alreadyInjected, onHostNetwork, podAsks, namespaceAsks];

/** Whether a pod gets the sidecar: already injected or on the node network, no; else as the pod, then its namespace, asks. */
export function injectionWanted(input: InjectionInput): InjectionAnswer {
  return firstAnswer(INJECTION_QUESTIONS, input) ?? { inject: false, reason: 'not requested' };
}

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `portcullis.dev/policy`: `name` (the pod's namespace) or `namespace/name`. */
export function policyRef(value: string | undefined, namespace: string, fallback: string): string {
  const v = (value ?? fallback).trim();
  const parts = v.split('/');
  const [ns, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [namespace, parts[0]!];
  if (parts.length > 2 || !DNS1123.test(ns) || !DNS1123.test(name)) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `annotation ${ANNOTATION_POLICY}="${v}" is invalid: expected NAME or NAMESPACE/NAME of a PolicyBundle`, {
      annotation: ANNOTATION_POLICY,
    });
  }
  return `${ns}/${name}`;
}

/** The mode a pod runs: its annotation's, or MODE_FROM_BUNDLE. */
type PodMode = AllowedMode | typeof MODE_FROM_BUNDLE;

/** The pod's mode within what its namespace allows; pinned to enforce when that is all it allows. */
function modeOf(value: string | undefined, allowed: readonly AllowedMode[], namespace: string): PodMode {
  if (value === undefined) return allowed.includes('observe') ? MODE_FROM_BUNDLE : 'enforce';
  const v = value.trim();
  if (v !== 'enforce' && v !== 'observe') {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `annotation ${ANNOTATION_MODE}="${v}" is invalid: expected enforce or observe`, {
      annotation: ANNOTATION_MODE,
    });
  }
  if (!allowed.includes(v)) {
    throw new PortcullisError(ErrorCodes.FORBIDDEN, `annotation ${ANNOTATION_MODE}="${v}": namespace ${namespace} allows only ${allowed.join(', ')} (its annotation portcullis.dev/modes, set by the platform team)`, {
      annotation: ANNOTATION_MODE,
    });
  }
  return v;
}

/** Labels and annotations the policy sees as input.agent; kubectl's copy of the manifest is noise. */
function identityJson(map: Record<string, string> | undefined): string {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (k === 'kubectl.kubernetes.io/last-applied-configuration') continue;
    out[k] = v;
  }
  return JSON.stringify(out);
}

function sidecarContainer(input: InjectionInput, config: InjectionConfig, policy: string, mode: string): Container {
  const field = (fieldPath: string): EnvVar['valueFrom'] => ({ fieldRef: { apiVersion: 'v1', fieldPath } });
  const probe = (path: string) => ({ httpGet: { path, port: config.adminPort } });
  return {
    name: SIDECAR_NAME,
    image: config.image,
    imagePullPolicy: config.imagePullPolicy,
    args: ['sidecar'],
    restartPolicy: 'Always',
    ports: [
      { name: 'pc-proxy', containerPort: config.proxyPort, protocol: 'TCP' },
      { name: 'pc-admin', containerPort: config.adminPort, protocol: 'TCP' },
    ],
    env: [
      { name: 'PORTCULLIS_CONTROLLER_URL', value: config.controllerUrl },
      ...(config.approvalPageUrl ? [{ name: 'PORTCULLIS_APPROVAL_PAGE_URL', value: config.approvalPageUrl }] : []),
      ...controllerTrustEnv(config),
      { name: 'PORTCULLIS_CONTROLLER_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
      { name: 'PORTCULLIS_BUNDLE', value: policy },
      // An explicit annotation wins over the bundle's spec.mode; without one the sidecar follows the bundle.
      ...(mode === MODE_FROM_BUNDLE ? [] : [{ name: 'PORTCULLIS_MODE', value: mode }]),
      { name: 'PORTCULLIS_LISTEN_HOST', value: '127.0.0.1' },
      { name: 'PORTCULLIS_PORT', value: String(config.proxyPort) },
      // The kubelet probes the pod IP, so the admin server (probes, metrics) listens on all addresses.
      { name: 'PORTCULLIS_ADMIN_HOST', value: '0.0.0.0' },
      { name: 'PORTCULLIS_ADMIN_PORT', value: String(config.adminPort) },
      { name: 'PORTCULLIS_LOG_LEVEL', value: config.logLevel },
      ...ledgerEnv(config),
      { name: 'PORTCULLIS_POD_NAME', valueFrom: field('metadata.name') },
      { name: 'PORTCULLIS_POD_NAMESPACE', valueFrom: field('metadata.namespace') },
      ...otelEnv(config),
      { name: 'PORTCULLIS_SERVICE_ACCOUNT', valueFrom: field('spec.serviceAccountName') },
      { name: 'PORTCULLIS_POD_LABELS', value: identityJson(input.pod.metadata?.labels) },
      { name: 'PORTCULLIS_POD_ANNOTATIONS', value: identityJson(input.pod.metadata?.annotations) },
      ...(config.ledgerShipping ? ledgerShippingEnv(config.ledgerShipping) : []),
      ...(config.capture ? captureEnv(config.capture) : []),
      ...(config.credentialsSecret ? [{ name: 'PORTCULLIS_CREDENTIALS_DIR', value: CREDENTIALS_DIR }] : []),
    ],
    resources: structuredClone(config.resources),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    startupProbe: { ...probe('/readyz'), periodSeconds: 1, failureThreshold: 120 },
    readinessProbe: { ...probe('/readyz'), periodSeconds: 5 },
    livenessProbe: { ...probe('/healthz'), periodSeconds: 10, failureThreshold: 3 },
    volumeMounts: [
      { name: 'portcullis-ledger', mountPath: '/var/lib/portcullis' },
      { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true },
      ...(config.credentialsSecret ? [{ name: CREDENTIALS_VOLUME, mountPath: CREDENTIALS_DIR, readOnly: true }] : []),
    ],
  } as Container;
}

/** What the sidecar trusts of the controller: its CA (https) and the keys bundles are signed with. */
function controllerTrustEnv(config: InjectionConfig): EnvVar[] {
  return [
    ...(config.controllerCa ? [{ name: 'PORTCULLIS_CONTROLLER_CA', value: config.controllerCa }] : []),
    ...(config.bundlePublicKeys ? [{ name: 'PORTCULLIS_BUNDLE_PUBLIC_KEY', value: config.bundlePublicKeys }] : []),
  ];
}

/** The ledger on the sidecar's volume, and how many rotated segments it keeps when it does not ship them. */
function ledgerEnv(config: InjectionConfig): EnvVar[] {
  return [
    { name: 'PORTCULLIS_LEDGER', value: '/var/lib/portcullis/ledger.jsonl' },
    // Ignored by a sidecar that ships its ledger (shipping deletes what it stored).
    ...(config.ledgerKeepSegments ? [{ name: 'PORTCULLIS_LEDGER_KEEP_SEGMENTS', value: String(config.ledgerKeepSegments) }] : []),
    // Only a platform's choice: the default, fsync, is the safe one.
    ...(config.ledgerDurability === 'write' ? [{ name: 'PORTCULLIS_LEDGER_DURABILITY', value: 'write' }] : []),
  ];
}

/** Tracing of the sidecar; after PORTCULLIS_POD_NAME/_NAMESPACE, which `$(…)` expands (the kubelet expands only earlier variables). */
function otelEnv(config: InjectionConfig): EnvVar[] {
  return [
    config.otelEndpoint
      ? { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: config.otelEndpoint }
      : // Spans keep their IDs (ledger, logs); nothing is exported to a collector that is not there.
        { name: 'OTEL_TRACES_EXPORTER', value: 'none' },
    { name: 'OTEL_SERVICE_NAME', value: SIDECAR_NAME },
    { name: 'OTEL_RESOURCE_ATTRIBUTES', value: 'k8s.pod.name=$(PORTCULLIS_POD_NAME),k8s.namespace.name=$(PORTCULLIS_POD_NAMESPACE)' },
  ];
}

/** The proxy environment of an agent container; in-pod traffic (the sidecar's named routes) bypasses the proxy. */
function agentEnv(config: InjectionConfig): EnvVar[] {
  const proxy = `http://127.0.0.1:${config.proxyPort}`;
  const noProxy = '127.0.0.1,localhost,::1';
  return [
    { name: 'HTTP_PROXY', value: proxy },
    { name: 'HTTPS_PROXY', value: proxy },
    { name: 'http_proxy', value: proxy },
    { name: 'https_proxy', value: proxy },
    { name: 'NO_PROXY', value: noProxy },
    { name: 'no_proxy', value: noProxy },
    { name: 'PORTCULLIS_SIDECAR_URL', value: proxy },
  ];
}

function envPatch(container: Container, index: number, wanted: EnvVar[]): JsonPatchOp[] {
  const base = `/spec/containers/${index}/env`;
  if (!container.env || container.env.length === 0) return [{ op: 'add', path: base, value: wanted }];
  const ops: JsonPatchOp[] = [];
  for (const v of wanted) {
    const at = container.env.findIndex((e) => e.name === v.name);
    // A proxy setting of the agent's own would route around the gate: ours wins.
    ops.push(at >= 0 ? { op: 'replace', path: `${base}/${at}`, value: v } : { op: 'add', path: `${base}/-`, value: v });
  }
  return ops;
}

/**
 * The pod's bundle and mode within what its namespace allows. Throws
 * BAD_REQUEST for an invalid annotation, FORBIDDEN for a bundle or mode the
 * namespace does not allow.
 */
function policyAndMode(input: InjectionInput, config: InjectionConfig): { policy: string; mode: PodMode } {
  const ann = input.pod.metadata?.annotations ?? {};
  const rules = namespaceEnforcement(input.namespace, input.namespaceLabels, input.namespaceAnnotations ?? {}, NAMESPACE_LABEL);
  const policy = policyRef(ann[ANNOTATION_POLICY], input.namespace, rules.policies?.[0] ?? config.defaultPolicy);
  const refused = policyRefusal(policy, input.namespace, rules);
  if (refused) throw new PortcullisError(ErrorCodes.FORBIDDEN, `annotation ${ANNOTATION_POLICY}: ${refused}`, { annotation: ANNOTATION_POLICY });
  return { policy, mode: modeOf(ann[ANNOTATION_MODE], rules.modes, input.namespace) };
}

/**
 * Adds `items` to the pod's list at `path`: the whole list when the pod has
 * none (a JSONPatch cannot add into a missing array), else one op per item,
 * at `at(i)`.
 */
function listAdditions(path: string, existing: readonly unknown[] | undefined, items: readonly unknown[], at: (i: number) => string): JsonPatchOp[] {
  if (items.length === 0) return [];
  if (!existing || existing.length === 0) return [{ op: 'add', path, value: items }];
  return items.map((value, i) => ({ op: 'add', path: at(i), value }));
}

/** The ledger's volume, the projected token and the tool credentials. */
function sidecarVolumes(config: InjectionConfig): unknown[] {
  return [
    { name: 'portcullis-ledger', emptyDir: { sizeLimit: config.ledgerVolumeSize ?? '256Mi' } },
    // Proves the sidecar's service account to the controller (TokenReview), good for
    // audience portcullis.dev only: no Kubernetes API credentials. Mounted into the sidecar alone.
    { name: TOKEN_VOLUME, projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: 3600, path: 'token' } }] } },
    // Tool credentials (credentials.ts in the sidecar), also mounted into the sidecar alone; a namespace without the Secret has none.
    ...(config.credentialsSecret ? [{ name: CREDENTIALS_VOLUME, secret: { secretName: config.credentialsSecret, optional: true, defaultMode: 0o444 } }] : []),
  ];
}

/** The configured pull secrets the pod does not name yet. */
function missingPullSecrets(spec: PodSpec, config: InjectionConfig): { name: string }[] {
  return (config.imagePullSecrets ?? []).filter((name) => !(spec.imagePullSecrets ?? []).some((s) => s.name === name)).map((name) => ({ name }));
}

/** The marker that makes injection a no-op next time, naming the bundle and mode. */
function markerPatch(pod: Pod, policy: string, mode: string): JsonPatchOp {
  const marker = { [ANNOTATION_INJECTED]: `${policy};${mode}` };
  if (!pod.metadata?.annotations) return { op: 'add', path: '/metadata/annotations', value: marker };
  return { op: 'add', path: `/metadata/annotations/${ptr(ANNOTATION_INJECTED)}`, value: marker[ANNOTATION_INJECTED] };
}

/** The JSONPatch that injects the sidecar, or why the pod is left alone. Throws BAD_REQUEST for invalid annotations. */
export function injectSidecar(input: InjectionInput, config: InjectionConfig): InjectionResult {
  const wanted = injectionWanted(input);
  if (!wanted.inject) return { inject: false, reason: wanted.reason };
  const { policy, mode } = policyAndMode(input, config);
  const spec = input.pod.spec!;
  const sidecar = sidecarContainer(input, config, policy, mode);
  // The capture rules are in place before the sidecar starts (it checks them), and both before the agent's own init containers.
  const first = config.capture ? [captureInitContainer(config.image, config.imagePullPolicy, config.capture), sidecar] : [sidecar];
  const patch: JsonPatchOp[] = [
    ...listAdditions('/spec/initContainers', spec.initContainers, first, (i) => `/spec/initContainers/${i}`),
    ...spec.containers.flatMap((c, i) => envPatch(c, i, agentEnv(config))),
    ...listAdditions('/spec/volumes', spec.volumes, sidecarVolumes(config), () => '/spec/volumes/-'),
    ...listAdditions('/spec/imagePullSecrets', spec.imagePullSecrets, missingPullSecrets(spec, config), () => '/spec/imagePullSecrets/-'),
    markerPatch(input.pod, policy, mode),
  ];
  return { inject: true, patch, policy, mode };
}
