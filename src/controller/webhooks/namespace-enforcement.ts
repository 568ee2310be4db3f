/**
 * What a namespace lets its pods run, from the namespace's own labels and
 * annotations: cluster-scoped fields that workload RBAC (`admin`, `edit` in
 * the namespace) cannot change, so they belong to the platform team. A pod's
 * annotations only choose within them (design.md §6). Pure.
 *
 * - label `portcullis.dev/injection=enabled`: the namespace is enforced; every
 *   pod gets the sidecar and may not opt out, forge our markers or use
 *   hostNetwork (the chart's ValidatingAdmissionPolicy checks the stored pod too).
 * - annotation `portcullis.dev/policies`: the PolicyBundles a pod may name,
 *   comma-separated `NAME` (this namespace) or `NAMESPACE/NAME`; the first is the
 *   default. Unset: any bundle of the pod's own namespace, never another's.
 * - annotation `portcullis.dev/modes`: `enforce` or `enforce,observe`. Unset:
 *   `enforce` in an enforced namespace (the sidecar is pinned to enforce, whatever
 *   the bundle's spec.mode), both elsewhere (a pod that opted in could opt out).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { firstRefusal, type RefusalCheck } from '../first-refusal.ts';

export const NAMESPACE_ANNOTATION_POLICIES = 'portcullis.dev/policies';
export const NAMESPACE_ANNOTATION_MODES = 'portcullis.dev/modes';

export type AllowedMode = 'enforce' | 'observe';

export interface NamespaceEnforcement {
  /** Labelled portcullis.dev/injection=enabled. */
  enforced: boolean;
  /** `namespace/name` of each allowed bundle, or undefined: any of the pod's own namespace. */
  policies?: string[];
  modes: AllowedMode[];
}

function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

/** Reads the namespace's rules; names in `portcullis.dev/policies` are made `namespace/name`. Invalid modes are ignored (enforce stays). */
export function namespaceEnforcement(namespace: string, labels: Record<string, string>, annotations: Record<string, string>, injectionLabel: string): NamespaceEnforcement {
  const enforced = labels[injectionLabel] === 'enabled';
  const policies = splitList(annotations[NAMESPACE_ANNOTATION_POLICIES])?.map((p) => (p.includes('/') ? p : `${namespace}/${p}`));
  const listed = splitList(annotations[NAMESPACE_ANNOTATION_MODES])?.filter((m): m is AllowedMode => m === 'enforce' || m === 'observe');
  const modes: AllowedMode[] = listed && listed.length > 0 ? [...new Set(listed)] : enforced ? ['enforce'] : ['enforce', 'observe'];
  return { enforced, ...(policies ? { policies } : {}), modes };
}

/** Whether `policy` (`namespace/name`) may run in a pod of `namespace`; the refusal names what is allowed. */
export function policyRefusal(policy: string, namespace: string, rules: NamespaceEnforcement): string | undefined {
  if (rules.policies) {
    if (rules.policies.includes(policy)) return undefined;
    return `PolicyBundle ${policy} is not one namespace ${namespace} allows (${NAMESPACE_ANNOTATION_POLICIES}: ${rules.policies.join(', ')})`;
  }
  if (policy.startsWith(`${namespace}/`)) return undefined;
  return `PolicyBundle ${policy} is in another namespace: namespace ${namespace} allows only its own bundles unless the platform lists others in its annotation ${NAMESPACE_ANNOTATION_POLICIES}`;
}

/** The annotation and container names only the injection may set, and the opt-out label/annotation. */
export interface ReservedNames {
  annotations: string[];
  containers: string[];
  optOut: string;
}

/** A pod as submitted to an enforced namespace, and the names reserved to the injection. */
interface SubmittedPod {
  pod: Pod;
  reserved: ReservedNames;
}

function forgedAnnotation({ pod, reserved }: SubmittedPod): string | undefined {
  const ann = pod.metadata?.annotations ?? {};
  const forged = reserved.annotations.find((a) => ann[a] !== undefined);
  if (!forged) return undefined;
  return `annotation ${forged} is set only by Portcullis's injection; remove it (a pod copied from an injected one must be created from its template)`;
}

function forgedContainer({ pod, reserved }: SubmittedPod): string | undefined {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])];
  const forged = all.find((c) => reserved.containers.includes(c.name));
  if (!forged) return undefined;
  return `container name ${forged.name} is reserved for Portcullis's own containers`;
}

function optsOut({ pod, reserved }: SubmittedPod): string | undefined {
  if (pod.metadata?.annotations?.[reserved.optOut] !== 'false' && pod.metadata?.labels?.[reserved.optOut] !== 'false') return undefined;
  return `${reserved.optOut}=false: pods cannot opt out of an enforced namespace`;
}

function onHostNetwork({ pod }: SubmittedPod): string | undefined {
  if (!pod.spec?.hostNetwork) return undefined;
  return 'hostNetwork: a pod on the node network would be outside the gate';
}

/** In the order a pod's author meets them. */
const ENFORCED_POD_CHECKS: readonly RefusalCheck<SubmittedPod>[] = [forgedAnnotation, forgedContainer, optsOut, onHostNetwork];

/**
 * Why a pod cannot be admitted to an enforced namespace as it was submitted,
 * or undefined. `reserved` are the annotation and container names only the
 * injection may set: present on a pod before injection, they are forged.
 */
export function enforcedPodRefusal(pod: Pod, reserved: ReservedNames): string | undefined {
  return firstRefusal(ENFORCED_POD_CHECKS, { pod, reserved });
}
