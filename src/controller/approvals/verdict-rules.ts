/**
 * Who may decide an ActionApproval, checked by the validating webhook on
 * every update (pure: object, old object, authenticated user in; refusal
 * message or nothing out). The API server's RBAC decides who may patch at
 * all; this decides whose verdict counts:
 * - the decision names the approver as the authenticated user;
 * - the user is one of the requested approvers (`user:NAME`, `group:NAME`,
 *   `serviceaccount:NAMESPACE:NAME`, or a bare user name), when any are named;
 * - the decision names the held call's exact input hash;
 * - a decision is final, and the held call never changes: everything in spec
 *   but the decision (input hash, action, approvers, expiry…), or a user
 *   allowed to patch could first name themself an approver, then decide;
 * - an expired approval cannot be decided.
 */
import type { ActionApproval } from '../resources.ts';
import { canonicalJson } from '../../evidence/canonical.ts';
import { phaseOf } from './approval-state.ts';
import { isRequestedApprover, type ApproverIdentity } from '../../gate/approvers.ts';

export type AuthenticatedUser = ApproverIdentity;
export { isRequestedApprover };

const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** Why this update is refused, or undefined when it may go ahead. */
export function refuseVerdictUpdate(next: ActionApproval, old: ActionApproval, user: AuthenticatedUser, now: Date): string | undefined {
  const { decision: _next, ...nextCall } = next.spec ?? {};
  const { decision: _old, ...oldCall } = old.spec ?? {};
  if (!same(nextCall, oldCall)) return 'the held call cannot be changed: only spec.decision may be set';
  const before = old.spec.decision;
  const after = next.spec?.decision;
  if (before) return same(before, after) ? undefined : 'a decision is final and cannot be changed or removed';
  if (!after) return undefined;
  const { phase } = phaseOf(old, now);
  if (phase === 'Expired') return `this approval expired at ${old.spec.expiresAt}; the call was denied`;
  if (after.inputHash !== old.spec.inputHash) {
    return `decision.inputHash ${after.inputHash} is not the held call's input ${old.spec.inputHash}: a verdict approves one exact call`;
  }
  if (after.approver !== user.username) {
    return `decision.approver must be the user giving the verdict ("${user.username}"), not "${after.approver}"`;
  }
  if (!isRequestedApprover(old.spec.approvers ?? [], user)) {
    return `${user.username} is not among the requested approvers (${old.spec.approvers.join(', ')})`;
  }
  return undefined;
}
