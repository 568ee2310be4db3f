/**
 * A human's verdict on an ActionApproval, through the Kubernetes API (what
 * `portcullis approve|reject NAME --kube` does): read the object, refuse
 * when it is no longer pending, and patch `spec.decision` naming the exact
 * input hash the object holds, so the verdict cannot apply to another call.
 */
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { KubeApi } from '../k8s/kube-api.ts';
import { ACTION_APPROVALS, type ActionApproval, type ApprovalVerdict } from '../resources.ts';
import { phaseOf } from './approval-state.ts';

export interface DecideOptions {
  namespace: string;
  name: string;
  verdict: ApprovalVerdict;
  approver: string;
  comment?: string;
  /** When given, the verdict is refused unless the object holds this input hash. */
  expectInputHash?: string;
  now?: Date;
}

export async function decideApproval(kube: Pick<KubeApi, 'get' | 'mergePatch'>, o: DecideOptions): Promise<ActionApproval> {
  const a = await kube.get<ActionApproval>(ACTION_APPROVALS, o.namespace, o.name);
  if (!a) throw new PortcullisError(ErrorCodes.APPROVAL_NOT_FOUND, `ActionApproval ${o.namespace}/${o.name} does not exist (list them: kubectl get actionapprovals -A)`);
  const now = o.now ?? new Date();
  const { phase, message } = phaseOf(a, now);
  if (phase !== 'Pending') {
    throw new PortcullisError(ErrorCodes.APPROVAL_NOT_FOUND, `ActionApproval ${o.namespace}/${o.name} is ${phase} (${message}); only pending approvals can be decided`);
  }
  if (o.expectInputHash && o.expectInputHash !== a.spec.inputHash) {
    throw new PortcullisError(ErrorCodes.APPROVAL_MISMATCH, `ActionApproval ${o.namespace}/${o.name} holds input ${a.spec.inputHash}, not ${o.expectInputHash}`);
  }
  return kube.mergePatch<ActionApproval>(ACTION_APPROVALS, o.namespace, o.name, {
    // The resourceVersion makes the patch conditional: a verdict is never written over a change it did not see.
    metadata: { resourceVersion: a.metadata.resourceVersion },
    spec: {
      decision: {
        verdict: o.verdict,
        inputHash: a.spec.inputHash,
        approver: o.approver,
        at: now.toISOString(),
        ...(o.comment ? { comment: o.comment } : {}),
      },
    },
  });
}
