/**
 * AdmissionReview v1 plumbing for the two webhooks; the decisions themselves
 * are pure (`inject.ts`) or shared with the reconciler (`build-bundle.ts`).
 * - POST /mutate-pods: inject the sidecar (JSONPatch).
 * - POST /validate-policybundles: refuse a bundle whose Rego does not compile
 *   or whose tests fail, with the compiler's message.
 * - POST /validate-actionapprovals: only a requested approver decides, as
 *   themself, for the exact input hash, once (`verdict-rules.ts`).
 * - POST /mutate-actionapprovals: a verdict that passes the same check is
 *   signed with who decided and their groups (`verdict-attestation.ts`).
 */
import type { FastifyInstance } from 'fastify';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ErrorCodes, isPortcullisError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { ActionApproval, PolicyBundle } from '../resources.ts';
import { refuseVerdictUpdate } from '../approvals/verdict-rules.ts';
import type { BuildCache } from '../bundles/build-bundle.ts';
import { ANNOTATION_INJECT, ANNOTATION_INJECTED, injectSidecar, NAMESPACE_LABEL, SIDECAR_NAME, type InjectionConfig } from './inject.ts';
import { enforcedPodRefusal } from './namespace-enforcement.ts';
import { attestVerdict, type AttestationSigner, type VerdictUpdate } from './verdict-attestation.ts';

interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  namespace?: string;
  name?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: unknown;
  oldObject?: unknown;
  userInfo?: { username?: string; groups?: string[] };
  dryRun?: boolean;
}

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface AdmissionDeps {
  injection: InjectionConfig;
  builds: BuildCache;
  /** Labels of a namespace (from the namespace informer). */
  namespaceLabels(namespace: string): Record<string, string>;
  /** Annotations of a namespace (from the namespace informer). */
  namespaceAnnotations?(namespace: string): Record<string, string>;
  /** Container names only the injection adds (the sidecar's, the capture init's); default the sidecar's. */
  reservedContainers?: string[];
  /** Signs verdict attestations (the bundle signing key); without it verdicts pass unattested and sidecars that hold keys refuse them. */
  attestationSigner?: AttestationSigner;
  logger: Logger;
}

interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

function review(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

function deny(uid: string, code: number, message: string): AdmissionReview {
  return review({ uid, allowed: false, status: { code, reason: code === 422 ? 'Invalid' : 'BadRequest', message } });
}

function forbid(uid: string, message: string): AdmissionReview {
  return review({ uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } });
}

/** A pod CREATE as the mutating webhook reads it. */
interface PodAdmission {
  uid: string;
  pod: Pod;
  namespace: string;
  namespaceLabels: Record<string, string>;
  /** `namespace/name` (or the generateName) for the log lines. */
  who: string;
}

function podAdmission(req: AdmissionRequest, pod: Pod, deps: AdmissionDeps): PodAdmission {
  const namespace = req.namespace ?? pod.metadata?.namespace ?? 'default';
  const namespaceLabels = deps.namespaceLabels(namespace);
  const who = `${namespace}/${pod.metadata?.name ?? pod.metadata?.generateName ?? '?'}`;
  return { uid: req.uid, pod, namespace, namespaceLabels, who };
}

/** The refusal of a pod an enforced namespace cannot admit as submitted, or undefined. */
function enforcedNamespaceRefusal(a: PodAdmission, deps: AdmissionDeps): AdmissionReview | undefined {
  if (a.namespaceLabels[NAMESPACE_LABEL] !== 'enabled') return undefined;
  // The pod as submitted: our markers on it now were not put there by us.
  const refusal = enforcedPodRefusal(a.pod, { annotations: [ANNOTATION_INJECTED], containers: deps.reservedContainers ?? [SIDECAR_NAME], optOut: ANNOTATION_INJECT });
  if (!refusal) return undefined;
  deps.logger.info({ pod: a.who, why: refusal }, 'pod refused in an enforced namespace');
  return forbid(a.uid, `namespace ${a.namespace} is enforced by Portcullis (label ${NAMESPACE_LABEL}=enabled): ${refusal}`);
}

/** The injection's patch, the pod let through untouched, or refused for its annotations (403 not allowed, 400 invalid). */
function injectionReview(a: PodAdmission, deps: AdmissionDeps): AdmissionReview {
  try {
    const result = injectSidecar({ pod: a.pod, namespace: a.namespace, namespaceLabels: a.namespaceLabels, namespaceAnnotations: deps.namespaceAnnotations?.(a.namespace) ?? {} }, deps.injection);
    if (!result.inject) {
      deps.logger.debug({ pod: a.who, reason: result.reason }, 'pod not injected');
      return review({ uid: a.uid, allowed: true });
    }
    deps.logger.info({ pod: a.who, policy: result.policy, mode: result.mode }, 'sidecar injected');
    return review({ uid: a.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(result.patch)).toString('base64') });
  } catch (e) {
    if (isPortcullisError(e) && e.code === ErrorCodes.FORBIDDEN) return forbid(a.uid, e.message);
    if (isPortcullisError(e)) return deny(a.uid, 400, e.message);
    throw e;
  }
}

export function mutatePod(req: AdmissionRequest, deps: AdmissionDeps): unknown {
  const pod = req.object as Pod | undefined;
  if (req.operation !== 'CREATE' || !pod?.spec) return review({ uid: req.uid, allowed: true });
  const a = podAdmission(req, pod, deps);
  return enforcedNamespaceRefusal(a, deps) ?? injectionReview(a, deps);
}

/** `PolicyBundle namespace/name` for the log line and the refusal. */
function bundleWho(req: AdmissionRequest, pb: PolicyBundle): string {
  return `PolicyBundle ${req.namespace ?? pb.metadata?.namespace}/${req.name ?? pb.metadata?.name}`;
}

export async function validatePolicyBundle(req: AdmissionRequest, deps: AdmissionDeps): Promise<unknown> {
  const pb = req.object as PolicyBundle | undefined;
  if ((req.operation !== 'CREATE' && req.operation !== 'UPDATE') || !pb) return review({ uid: req.uid, allowed: true });
  const outcome = await deps.builds.build(pb.spec ?? {});
  if (outcome.ok) return review({ uid: req.uid, allowed: true });
  const who = bundleWho(req, pb);
  deps.logger.info({ bundle: who, reason: outcome.reason, code: outcome.code }, 'PolicyBundle refused');
  const what = outcome.stage === 'compile' ? 'does not compile' : 'fails its tests';
  return deny(req.uid, 422, `${who} ${what}: ${outcome.message}`);
}

/** An ActionApproval update as the verdict rules read it, or undefined for any other request. */
function verdictUpdate(req: AdmissionRequest): VerdictUpdate | undefined {
  if (req.operation !== 'UPDATE' || !req.object || !req.oldObject) return undefined;
  return { next: req.object as ActionApproval, old: req.oldObject as ActionApproval, user: { username: req.userInfo?.username ?? '', groups: req.userInfo?.groups ?? [] } };
}

export function validateActionApproval(req: AdmissionRequest, deps: Pick<AdmissionDeps, 'logger'>, now = new Date()): unknown {
  const update = verdictUpdate(req);
  if (!update) return review({ uid: req.uid, allowed: true });
  const user = update.user;
  const why = refuseVerdictUpdate(update.next, update.old, user, now);
  if (!why) return review({ uid: req.uid, allowed: true });
  deps.logger.info({ approval: `${req.namespace}/${req.name}`, user: user.username, why }, 'ActionApproval update refused');
  return review({ uid: req.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: `ActionApproval ${req.namespace}/${req.name}: ${why}` } });
}

export function mutateActionApproval(req: AdmissionRequest, deps: Pick<AdmissionDeps, 'logger' | 'attestationSigner'>, now = new Date()): unknown {
  const update = verdictUpdate(req);
  const outcome = update && deps.attestationSigner ? attestVerdict(update, deps.attestationSigner, now) : undefined;
  // Not attested when refused: the validating webhook that runs next refuses it with the reason (were it missing, sidecars refuse a verdict without an attestation).
  if (!outcome || 'refusal' in outcome) return review({ uid: req.uid, allowed: true });
  deps.logger.info({ approval: `${req.namespace}/${req.name}`, user: update?.user.username }, 'ActionApproval verdict attested');
  return review({ uid: req.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(outcome.patch)).toString('base64') });
}

function requestOf(body: unknown): AdmissionRequest | undefined {
  const b = body as { apiVersion?: string; kind?: string; request?: AdmissionRequest } | null;
  if (b?.apiVersion !== 'admission.k8s.io/v1' || b.kind !== 'AdmissionReview' || !b.request?.uid) return undefined;
  return b.request;
}

export function registerAdmissionRoutes(app: FastifyInstance, deps: AdmissionDeps): void {
  const bad = { error: 'expected an admission.k8s.io/v1 AdmissionReview with a request' };
  app.post('/mutate-pods', async (req, reply) => {
    const r = requestOf(req.body);
    return r ? mutatePod(r, deps) : reply.code(400).send(bad);
  });
  app.post('/validate-policybundles', async (req, reply) => {
    const r = requestOf(req.body);
    return r ? validatePolicyBundle(r, deps) : reply.code(400).send(bad);
  });
  app.post('/validate-actionapprovals', async (req, reply) => {
    const r = requestOf(req.body);
    return r ? validateActionApproval(r, deps) : reply.code(400).send(bad);
  });
  app.post('/mutate-actionapprovals', async (req, reply) => {
    const r = requestOf(req.body);
    return r ? mutateActionApproval(r, deps) : reply.code(400).send(bad);
  });
}
