/**
 * What an ActionApproval says, computed from the object alone so that any
 * replica can answer a sidecar: a verdict counts only when it names the exact
 * input hash of the held call.
 */
import type { Approval, ApprovalRequest } from '../../gate/types.ts';
import { createHash } from 'node:crypto';
import type { ActionApproval, ApprovalPhase } from '../resources.ts';

export function phaseOf(a: ActionApproval, now: Date): { phase: ApprovalPhase; message: string } {
  const d = a.spec.decision;
  if (d) {
    if (d.inputHash !== a.spec.inputHash) {
      return { phase: 'Invalid', message: `the decision names input ${d.inputHash}, but this approval holds ${a.spec.inputHash}: it cannot approve a different call` };
    }
    return { phase: d.verdict, message: `${d.verdict.toLowerCase()} by ${d.approver}` };
  }
  if (Date.parse(a.spec.expiresAt) <= now.getTime()) return { phase: 'Expired', message: `no decision before ${a.spec.expiresAt}` };
  return { phase: 'Pending', message: `waiting for ${a.spec.approvers.join(', ') || 'an approver'}` };
}

/** The gate's Approval for a decided ActionApproval. */
export function approvalOf(a: ActionApproval): Approval | undefined {
  const d = a.spec.decision;
  if (!d || d.inputHash !== a.spec.inputHash) return undefined;
  return {
    id: a.spec.requestId ?? a.metadata.name ?? '',
    approver: d.approver,
    verdict: d.verdict === 'Approved' ? 'approved' : 'rejected',
    inputHash: d.inputHash,
    at: d.at ?? a.metadata.creationTimestamp ?? new Date(0).toISOString(),
  };
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The object name for a sidecar's request id: the id itself when it is a valid name. */
export function approvalName(id: string): string {
  if (id.length <= 63 && DNS1123_LABEL.test(id)) return id;
  return `apr-${createHash('sha256').update(id).digest('hex').slice(0, 20)}`;
}

/**
 * A label value naming the pod: at most 63 characters that start and end
 * alphanumeric, or the API server refuses the whole object (a pod name may be
 * 253 characters, and cutting it can leave a dash or dot at the end).
 */
export function labelValue(s: string): string {
  return s
    .slice(0, 63)
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

export function actionApprovalFor(req: ApprovalRequest, namespace: string): ActionApproval {
  return {
    apiVersion: 'portcullis.dev/v1alpha1',
    kind: 'ActionApproval',
    metadata: {
      name: approvalName(req.id),
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'portcullis', 'portcullis.dev/pod': labelValue(req.agent.pod) },
    },
    spec: {
      inputHash: req.inputHash,
      summary: req.summary.slice(0, 1024),
      action: req.action,
      agent: { namespace: req.agent.namespace, pod: req.agent.pod, serviceAccount: req.agent.serviceAccount },
      approvers: req.approvers,
      expiresAt: req.expiresAt,
      traceId: req.traceId,
      reason: req.reason,
      requestId: req.id,
      // What the sidecar says it decided with: shown to people, never trusted for a decision.
      ...(typeof req.policyDigest === 'string' && req.policyDigest.length <= 128 ? { policyDigest: req.policyDigest } : {}),
    },
  };
}
