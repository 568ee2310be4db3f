/**
 * `portcullis approve|reject` on Kubernetes: lists pending ActionApprovals
 * and patches the verdict into one, through the Kubernetes API with the
 * user's kubeconfig (RBAC: the `portcullis-approver` ClusterRole).
 */
import type { Approval, ApprovalRequest, AgentIdentity } from '../../gate/types.ts';
import type { ApprovalsBackend } from './approval-backend.ts';

export interface KubeBackendOptions {
  kubeconfig?: string;
  /** Namespace of the approvals; default the kubeconfig context's. `*` lists every namespace. */
  namespace?: string;
}

export async function kubeBackend(o: KubeBackendOptions): Promise<ApprovalsBackend> {
  const { ClientNodeKubeApi } = await import('../../controller/k8s/client-node-kube-api.ts');
  const { decideApproval } = await import('../../controller/approvals/decide.ts');
  const { phaseOf } = await import('../../controller/approvals/approval-state.ts');
  const { ACTION_APPROVALS } = await import('../../controller/resources.ts');
  type ActionApproval = import('../../controller/resources.ts').ActionApproval;
  const kube = ClientNodeKubeApi.load(o.kubeconfig || undefined);
  const namespace = o.namespace ?? kube.defaultNamespace();
  const split = (id: string): [string, string] => {
    const parts = id.split('/');
    return parts.length === 2 ? [parts[0]!, parts[1]!] : [namespace === '*' ? 'default' : namespace, id];
  };
  return {
    describe: `ActionApprovals in ${namespace === '*' ? 'every namespace' : `namespace ${namespace}`}`,
    async list(): Promise<ApprovalRequest[]> {
      const items = await kube.list<ActionApproval>(ACTION_APPROVALS, namespace === '*' ? undefined : namespace);
      const now = new Date();
      return items
        .filter((a) => phaseOf(a, now).phase === 'Pending')
        .map((a) => ({
          id: namespace === '*' ? `${a.metadata.namespace}/${a.metadata.name}` : a.metadata.name!,
          inputHash: a.spec.inputHash,
          summary: a.spec.summary,
          action: a.spec.action,
          agent: { labels: {}, annotations: {}, ...a.spec.agent } as AgentIdentity,
          approvers: a.spec.approvers,
          expiresAt: a.spec.expiresAt,
          traceId: a.spec.traceId ?? '',
          reason: a.spec.reason ?? '',
        }));
    },
    async whoAmI(): Promise<string | undefined> {
      return (await kube.whoAmI()).username || undefined;
    },
    async decide(id, verdict, approver): Promise<Approval> {
      const [ns, name] = split(id);
      const a = await decideApproval(kube, { namespace: ns, name, verdict: verdict === 'approved' ? 'Approved' : 'Rejected', approver });
      const d = a.spec.decision!;
      return { id: name, approver: d.approver, verdict, inputHash: d.inputHash, at: d.at ?? new Date().toISOString() };
    },
  };
}
