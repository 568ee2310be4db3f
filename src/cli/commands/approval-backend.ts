/**
 * Where `portcullis approve` and `reject` send a verdict. Local mode: the
 * gate's admin endpoint. The interface is the seam for other backends (the
 * controller's approvals API on Kubernetes).
 */
import type { Approval, ApprovalRequest } from '../../gate/types.ts';
import { ErrorCodes, PortcullisError, type ErrorCode } from '../../errors.ts';

export interface ApprovalsBackend {
  /** Where verdicts go, for messages. */
  readonly describe: string;
  list(): Promise<ApprovalRequest[]>;
  decide(id: string, verdict: Approval['verdict'], approver: string): Promise<Approval>;
  /** The authenticated user, when the backend knows one (Kubernetes); the default approver. */
  whoAmI?(): Promise<string | undefined>;
}

async function call(url: string, init?: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.UPSTREAM, `cannot reach the gate's admin endpoint at ${url} (is \`portcullis dev\` running? set --admin URL): ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!res.ok) {
    const code = (body.error?.code as ErrorCode | undefined) ?? ErrorCodes.UPSTREAM;
    throw new PortcullisError(code, body.error?.message ?? `the admin endpoint answered ${res.status}`);
  }
  return body;
}

/** The local gate's admin server: `GET /v1/approvals`, `POST /v1/approvals/{id}`, with the admin token when there is one. */
export function adminBackend(adminUrl: string, token?: string): ApprovalsBackend {
  const base = adminUrl.replace(/\/+$/, '');
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return {
    describe: base,
    async list() {
      return ((await call(`${base}/v1/approvals`, { headers: auth })) as { approvals: ApprovalRequest[] }).approvals;
    },
    async decide(id, verdict, approver) {
      const body = JSON.stringify({ verdict, approver });
      const r = (await call(`${base}/v1/approvals/${encodeURIComponent(id)}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body })) as { approval: Approval };
      return r.approval;
    },
  };
}
