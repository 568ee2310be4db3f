/**
 * The approval page on the local gate's admin port: the person holds the
 * admin token (`portcullis dev` wrote it to a file only its user can read),
 * and, as with `portcullis approve`, names themself; the broker counts the
 * verdict only from an approver the policy named (local-approvals.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { pageItem } from '../approval-page/item.ts';
import type { ApprovalPageSource, PageUser, PageVerdict } from '../approval-page/routes.ts';
import type { LocalApprovalBroker } from './local-approvals.ts';
import { tokenMatches } from './admin-token.ts';

export function localApprovalPage(broker: LocalApprovalBroker, adminToken: string | undefined, tokenFile?: string): ApprovalPageSource {
  return {
    signInHint: `Paste the admin token: the one line of ${tokenFile ?? 'the file portcullis dev printed'} (portcullis dev also prints the page's address with it).`,
    async authenticate(headers: IncomingHttpHeaders): Promise<PageUser> {
      if (!adminToken) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, 'approvals are off: this gate has no admin token');
      if (!tokenMatches(headers.authorization, adminToken)) throw new PortcullisError(ErrorCodes.UNAUTHENTICATED, 'the approval page needs the admin token of this gate');
      return { name: broker.operator ?? '', choosesName: true };
    },
    list: () =>
      broker
        .held()
        .map(({ request, policyDigest }) => pageItem(request.id, { ...request, ...(policyDigest ? { policyDigest } : {}) }))
        .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt)),
    async decide(_user: PageUser, v: PageVerdict): Promise<void> {
      if (!v.approver) throw new PortcullisError(ErrorCodes.BAD_REQUEST, 'give your approver name: one of the approvers the policy named');
      broker.decide(v.id, v.verdict, v.approver, v.inputHash);
    },
    watch: (listener) => broker.watch(listener),
  };
}
