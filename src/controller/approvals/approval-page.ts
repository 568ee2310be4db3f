/**
 * The approval page in the cluster, served by the controller. A person signs
 * in with their own Kubernetes bearer token (an OIDC ID token, or `kubectl
 * create token` for a service account); the API server says who it is
 * (TokenReview). The page lists the pending ActionApprovals that name that
 * person among their approvers (a call naming nobody is decided with
 * `portcullis approve --kube`), and gives a verdict with the person's own
 * token: RBAC decides whether they may patch ActionApprovals at all, and the
 * validating webhook that the verdict is theirs, for this input hash
 * (verdict-rules.ts). The controller thus never decides in anyone's name.
 * Where the platform configures an authenticating proxy, its listener signs
 * people in by the proxy's headers instead and writes as them by
 * impersonation (proxy-sign-in.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { isRequestedApprover } from '../../gate/approvers.ts';
import { bearerToken } from '../../gate/headers.ts';
import { pageItem, type PageItem } from '../../approval-page/item.ts';
import type { ApprovalPageSource, PageUser, PageVerdict } from '../../approval-page/routes.ts';
import { kubeStatusCode, type KubeApi } from '../k8s/kube-api.ts';
import type { VerdictApi } from '../k8s/impersonation.ts';
import type { ActionApproval } from '../resources.ts';
import { phaseOf } from './approval-state.ts';
import { decideApproval } from './decide.ts';
import { ReviewCache } from './review-cache.ts';

/** What the page needs of the approval service: the cached approvals and their changes. */
export interface ApprovalsView {
  approvals(): Iterable<ActionApproval>;
  watch(listener: () => void): () => void;
}

/** How a person signs in to the page, and with what their verdict is written. */
export interface PageSignIn {
  /** One line on how to sign in, shown beside the token field. */
  hint: string;
  authenticate(headers: IncomingHttpHeaders): Promise<PageUser>;
  /** The API as this person; undefined when this controller cannot write in their name. */
  writer(user: PageUser): VerdictApi | undefined;
}

/** How long a positive TokenReview is trusted; the live list re-checks on every change. */
const REVIEW_TTL_MS = 30_000;

function bearer(headers: IncomingHttpHeaders): string {
  const token = bearerToken(headers.authorization);
  if (!token) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, 'sign in with your Kubernetes bearer token');
  return token;
}

function itemOf(a: ActionApproval): PageItem {
  const s = a.spec;
  const id = `${a.metadata.namespace}/${a.metadata.name}`;
  const digest = s.policyDigest;
  return pageItem(
    id,
    {
      summary: s.summary,
      action: s.action,
      agent: s.agent,
      approvers: s.approvers ?? [],
      reason: s.reason ?? '',
      inputHash: s.inputHash,
      expiresAt: s.expiresAt,
      ...(typeof digest === 'string' ? { policyDigest: digest } : {}),
    },
    s.requestId,
  );
}

/** Pending, and naming this person: what the page shows them. */
function mayDecide(a: ActionApproval, user: PageUser, now: Date): boolean {
  const approvers = a.spec.approvers ?? [];
  return approvers.length > 0 && phaseOf(a, now).phase === 'Pending' && isRequestedApprover(approvers, { username: user.name, groups: user.groups ?? [] });
}

/** The API server's answer to a verdict, as the page's error: its RBAC and webhook refusals are the person's. */
function refusalOf(e: unknown, id: string): unknown {
  const status = kubeStatusCode(e);
  const why = (e as Error)?.message;
  if (status === 401) return new PortcullisError(ErrorCodes.UNAUTHENTICATED, `the API server refused your token: ${why}`);
  if (status === 403 || status === 400 || status === 422) return new PortcullisError(ErrorCodes.FORBIDDEN, `the API server refused your verdict: ${why}`);
  if (status === 409) return new PortcullisError(ErrorCodes.APPROVAL_MISMATCH, `${id} changed while you decided; look again: ${why}`);
  return e;
}

/** The person's own bearer token: TokenReview says who they are, and the verdict is written with that token. */
export function tokenSignIn(kube: KubeApi): PageSignIn {
  const reviews = new ReviewCache<PageUser>(REVIEW_TTL_MS);
  return {
    hint: 'Paste a Kubernetes bearer token the API server accepts for you (your OIDC ID token; for a service account: kubectl create token NAME -n NAMESPACE).',
    async authenticate(headers: IncomingHttpHeaders): Promise<PageUser> {
      const token = bearer(headers);
      const known = reviews.get(token);
      if (known) return { ...known, credential: token };
      const r = await kube.reviewToken(token, []);
      if (!r.authenticated || !r.username) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, `the API server does not accept this token${r.error ? `: ${r.error}` : ''}`);
      const user: PageUser = { name: r.username, groups: r.groups ?? [] };
      reviews.set(token, user);
      return { ...user, credential: token };
    },
    writer: (user) => (kube.asBearer && user.credential ? kube.asBearer(user.credential) : undefined),
  };
}

export function clusterApprovalPage(view: ApprovalsView, signIn: PageSignIn, clock: () => Date = () => new Date()): ApprovalPageSource {
  const find = (id: string): ActionApproval | undefined => {
    for (const a of view.approvals()) if (`${a.metadata.namespace}/${a.metadata.name}` === id) return a;
    return undefined;
  };
  return {
    signInHint: signIn.hint,
    authenticate: (headers) => signIn.authenticate(headers),
    list(user: PageUser): PageItem[] {
      const now = clock();
      return [...view.approvals()]
        .filter((a) => mayDecide(a, user, now))
        .map(itemOf)
        .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
    },
    async decide(user: PageUser, v: PageVerdict): Promise<void> {
      const a = find(v.id);
      if (!a || !mayDecide(a, user, clock())) {
        throw new PortcullisError(ErrorCodes.APPROVAL_NOT_FOUND, `no pending ActionApproval ${v.id} names ${user.name} among its approvers`);
      }
      const writer = signIn.writer(user);
      if (!writer) throw new PortcullisError(ErrorCodes.FORBIDDEN, 'this controller cannot give a verdict in your name; use portcullis approve --kube');
      const verdict = v.verdict === 'approved' ? 'Approved' : 'Rejected';
      const ref = { namespace: a.metadata.namespace!, name: a.metadata.name! };
      await decideApproval(writer, { ...ref, verdict, approver: user.name, expectInputHash: v.inputHash, now: clock() }).catch((e: unknown) => {
        throw refusalOf(e, v.id);
      });
    },
    watch: (listener) => view.watch(listener),
  };
}
