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
import type { ActionApproval, ActionApprovalSpec } from '../resources.ts';
import { firstRefusal, type RefusalCheck } from '../first-refusal.ts';
import { canonicalJson } from '../../evidence/canonical.ts';
import { phaseOf } from './approval-state.ts';
import { isRequestedApprover, type ApproverIdentity } from '../../gate/approvers.ts';

export type AuthenticatedUser = ApproverIdentity;
export { isRequestedApprover };

const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

type Decision = NonNullable<ActionApprovalSpec['decision']>;

/** A first decision on a held call: the approval as stored, the decision, who gives it, and when. */
interface NewVerdict {
  old: ActionApproval;
  after: Decision;
  user: AuthenticatedUser;
  now: Date;
}

/** Everything in spec but the decision is the same before and after. */
function sameHeldCall(next: ActionApproval, old: ActionApproval): boolean {
  const { decision: _next, ...nextCall } = next.spec ?? {};
  const { decision: _old, ...oldCall } = old.spec ?? {};
  return same(nextCall, oldCall);
}

function notExpired({ old, now }: NewVerdict): string | undefined {
  if (phaseOf(old, now).phase !== 'Expired') return undefined;
  return `this approval expired at ${old.spec.expiresAt}; the call was denied`;
}

function namesTheHeldInput({ old, after }: NewVerdict): string | undefined {
  if (after.inputHash === old.spec.inputHash) return undefined;
  return `decision.inputHash ${after.inputHash} is not the held call's input ${old.spec.inputHash}: a verdict approves one exact call`;
}

function signedByTheUser({ after, user }: NewVerdict): string | undefined {
  if (after.approver === user.username) return undefined;
  return `decision.approver must be the user giving the verdict ("${user.username}"), not "${after.approver}"`;
}

function byARequestedApprover({ old, user }: NewVerdict): string | undefined {
  if (isRequestedApprover(old.spec.approvers ?? [], user)) return undefined;
  return `${user.username} is not among the requested approvers (${old.spec.approvers.join(', ')})`;
}

/** What a first decision must keep, in the order the user meets the refusals. */
const NEW_VERDICT_CHECKS: readonly RefusalCheck<NewVerdict>[] = [notExpired, namesTheHeldInput, signedByTheUser, byARequestedApprover];

/** Why this update is refused, or undefined when it may go ahead. */
export function refuseVerdictUpdate(next: ActionApproval, old: ActionApproval, user: AuthenticatedUser, now: Date): string | undefined {
  if (!sameHeldCall(next, old)) return 'the held call cannot be changed: only spec.decision may be set';
  const before = old.spec.decision;
  const after = next.spec?.decision;
  if (before) return same(before, after) ? undefined : 'a decision is final and cannot be changed or removed';
  if (!after) return undefined;
  return firstRefusal(NEW_VERDICT_CHECKS, { old, after, user, now });
}
