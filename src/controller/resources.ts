/**
 * The Kubernetes resources of Portcullis (design.md §6), as TypeScript types.
 * `manifests/crds/` holds their OpenAPI schemas; keep both in step.
 */
import type { KubeObject, ResourceRef } from './k8s/kube-api.ts';
import type { Action } from '../gate/types.ts';

export const GROUP = 'portcullis.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const POLICY_BUNDLES: ResourceRef = { group: GROUP, version: VERSION, plural: 'policybundles', kind: 'PolicyBundle', namespaced: true };
export const ACTION_APPROVALS: ResourceRef = { group: GROUP, version: VERSION, plural: 'actionapprovals', kind: 'ActionApproval', namespaced: true };
export const NAMESPACES: ResourceRef = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface PolicyBundleSpec {
  /** Entrypoint as an OPA path; default `portcullis/decision`. */
  entrypoint?: string;
  modules?: { path: string; source: string }[];
  data?: Record<string, unknown>;
  tools?: { name: string; kind: 'mcp' | 'http'; url: string; description?: string; allowSubPaths?: boolean; allowQuery?: boolean; credential?: { name: string; header: string; prefix?: string }; pins?: Record<string, string> }[];
  tests?: { name: string; input: unknown; want: { effect: string; reason?: string } }[];
  mode?: 'enforce' | 'observe';
  /** A wasm module built elsewhere (`opa build -t wasm`), base64; replaces compilation of `modules`. */
  wasm?: string;
}

export interface PolicyBundleStatus {
  digest?: string;
  observedGeneration?: number;
  compiler?: string;
  /** "passed/total" of the latest generation. */
  testSummary?: string;
  /** The digest sidecars are served (the last good one when the latest failed). */
  servingDigest?: string;
  conditions?: Condition[];
}

export interface PolicyBundle extends KubeObject {
  spec: PolicyBundleSpec;
  status?: PolicyBundleStatus;
}

export type ApprovalVerdict = 'Approved' | 'Rejected';

export interface ActionApprovalSpec {
  /** SHA-256 of the canonical policy input; immutable. */
  inputHash: string;
  summary: string;
  action: Action;
  agent: { namespace: string; pod: string; serviceAccount: string };
  approvers: string[];
  expiresAt: string;
  traceId?: string;
  reason?: string;
  /** Which request of the sidecar this is (the gate's approval id). */
  requestId?: string;
  /** Digest of the policy bundle that held the call (shown on the approval page). */
  policyDigest?: string;
  /** Set by a human (`portcullis approve|reject`). */
  decision?: {
    verdict: ApprovalVerdict;
    /** Must equal spec.inputHash: a verdict approves one exact call. */
    inputHash: string;
    approver: string;
    at?: string;
    comment?: string;
    /** Added by the mutating webhook: who decided and their requested groups, signed (src/gate/verdict-attestation.ts). */
    attestation?: string;
  };
}

export type ApprovalPhase = 'Pending' | 'Approved' | 'Rejected' | 'Expired' | 'Invalid';

export interface ActionApprovalStatus {
  phase?: ApprovalPhase;
  resolvedAt?: string;
  message?: string;
  conditions?: Condition[];
}

export interface ActionApproval extends KubeObject {
  spec: ActionApprovalSpec;
  status?: ActionApprovalStatus;
}
