/**
 * Whether a verdict the controller passes on counts for the call this
 * sidecar holds. The controller and the object it reads are not trusted for
 * this: anyone who can write etcd, or patch around the admission webhooks,
 * can put any verdict there. So:
 * - the verdict names the held call's exact input hash;
 * - with the controller's public keys (PORTCULLIS_BUNDLE_PUBLIC_KEY), every
 *   verdict needs the attestation the mutating webhook signed when it was set
 *   (src/gate/verdict-attestation.ts): it binds to this approval, this call
 *   and this verdict, and shows the approver — with their groups — to be one
 *   the policy named; that is the only way a `group:NAME` approver counts;
 * - without keys, only a named user or service account can be checked (by
 *   name), and a verdict that only a group could allow is refused.
 */
import type { Approval, ApprovalRequest } from '../gate/types.ts';
import type { BundleVerificationKey } from '../policy/bundle-signing.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { isRequestedApprover } from '../gate/approvers.ts';
import { attestationRefusal, verifyVerdictAttestation } from '../gate/verdict-attestation.ts';

export interface ReceivedVerdict {
  /** The ActionApproval it was read from. */
  ref: { namespace: string; name: string };
  /** The controller's answer: the input hash the object holds, its verdict, and the attestation, as stored. */
  inputHash: string;
  approval: Approval | null;
  attestation?: string | undefined;
}

const verdictOf = (a: Approval): 'Approved' | 'Rejected' => (a.verdict === 'approved' ? 'Approved' : 'Rejected');

function mismatch(req: ApprovalRequest, message: string): PortcullisError {
  return new PortcullisError(ErrorCodes.APPROVAL_MISMATCH, message, { id: req.id });
}

function unattested(req: ApprovalRequest, name: string, why: string): PortcullisError {
  return new PortcullisError(ErrorCodes.APPROVAL_UNATTESTED, `the verdict for ${name} is not attested by the controller's admission webhook: ${why}; the call is denied`, { id: req.id });
}

/** The verdict checked against its attestation, with `keys`. */
function checkAttested(req: ApprovalRequest, got: ReceivedVerdict, approval: Approval, keys: readonly BundleVerificationKey[]): void {
  const name = `${got.ref.namespace}/${got.ref.name}`;
  if (!got.attestation) throw unattested(req, name, 'it carries no attestation (was it written around the API server?)');
  let why: string | undefined;
  try {
    const claims = verifyVerdictAttestation(got.attestation, keys);
    why = attestationRefusal(claims, { ...got.ref, requestId: req.id, inputHash: req.inputHash, approvers: req.approvers, expiresAt: req.expiresAt, verdict: verdictOf(approval), approver: approval.approver });
  } catch (e) {
    if (e instanceof PortcullisError) throw unattested(req, name, e.message);
    throw e;
  }
  if (why) throw unattested(req, name, why);
}

/** The verdict checked by name alone: what a sidecar without keys can do. */
function checkByName(req: ApprovalRequest, got: ReceivedVerdict, approval: Approval): void {
  if (isRequestedApprover(req.approvers, { username: approval.approver })) return;
  const name = `${got.ref.namespace}/${got.ref.name}`;
  if (req.approvers.some((a) => a.startsWith('group:'))) {
    throw unattested(req, name, `${approval.approver} is not named among ${req.approvers.join(', ')}, and this sidecar holds no key (PORTCULLIS_BUNDLE_PUBLIC_KEY) to verify a group membership`);
  }
  throw mismatch(req, `the verdict for ${name} is by ${approval.approver}, who is not among the approvers the policy named (${req.approvers.join(', ')}); the call is denied`);
}

/** The verdict as the gate's Approval, or a refusal: APPROVAL_MISMATCH (another call, another approver) or APPROVAL_UNATTESTED. */
export function checkedVerdict(req: ApprovalRequest, got: ReceivedVerdict, keys: readonly BundleVerificationKey[] | undefined): Approval {
  const approval = got.approval;
  // The controller computes this too; the sidecar checks it again: a verdict for another call is worthless.
  if (!approval || approval.inputHash !== req.inputHash || got.inputHash !== req.inputHash) {
    throw mismatch(req, `the verdict for ${got.ref.name} names another input than the held call`);
  }
  // The approvers are the ones this sidecar asked for, not what the object says now.
  if (keys && keys.length > 0) checkAttested(req, got, approval, keys);
  else checkByName(req, got, approval);
  return { ...approval, id: req.id };
}
