/**
 * The mutating step for ActionApprovals: when an update sets the verdict, the
 * webhook — the one party that sees who is deciding (AdmissionReview userInfo)
 * — checks it as the validating webhook does (`verdict-rules.ts`) and, when
 * it passes (the validating webhook refuses the rest, with the reason), adds
 * `spec.decision.attestation`, signed with the controller's bundle signing
 * key (src/gate/verdict-attestation.ts). Any attestation the user sent is
 * replaced; a verdict stored around the webhook has none (or one that does
 * not verify), and sidecars refuse it. Pure: objects, user, signer and clock
 * in; a refusal or a JSONPatch out.
 */
import type { ActionApproval } from '../resources.ts';
import type { BundleSigner } from '../../policy/bundle-signing.ts';
import { refuseVerdictUpdate, type AuthenticatedUser } from '../approvals/verdict-rules.ts';
import { requestedGroups, signVerdictAttestation, type VerdictAttestation } from '../../gate/verdict-attestation.ts';

export type AttestationSigner = Pick<BundleSigner, 'keyId' | 'sign'>;

export type AttestationOutcome = { refusal: string } | { patch: { op: 'add'; path: string; value: string }[] } | undefined;

/** An update of an ActionApproval as the webhook sees it: the object before and after, and who sends it. */
export interface VerdictUpdate {
  next: ActionApproval;
  old: ActionApproval;
  user: AuthenticatedUser;
}

/** What the webhook attests: the held call as it was before this update, the verdict, and who gave it. */
function claimsFor(u: VerdictUpdate, verdict: VerdictAttestation['verdict'], now: Date): VerdictAttestation {
  const { metadata, spec } = u.old;
  const name = metadata.name ?? '';
  return {
    namespace: metadata.namespace ?? '',
    name,
    requestId: spec.requestId ?? name,
    inputHash: spec.inputHash,
    verdict,
    approver: u.user.username,
    groups: requestedGroups(spec.approvers ?? [], u.user.groups ?? []),
    at: now.toISOString(),
  };
}

/** What to do with an update: nothing (no verdict set by it), leave it to be refused, or attest the verdict it sets. */
export function attestVerdict(u: VerdictUpdate, signer: AttestationSigner, now: Date): AttestationOutcome {
  const decision = u.next.spec?.decision;
  // Only the update that sets the verdict is attested; later ones may not change it (verdict-rules.ts, the CRD).
  if (!decision || u.old.spec?.decision) return undefined;
  const refusal = refuseVerdictUpdate(u.next, u.old, u.user, now);
  if (refusal) return { refusal };
  const attestation = signVerdictAttestation(claimsFor(u, decision.verdict, now), signer);
  // `add` on an object member replaces it: an attestation sent by the user never survives.
  return { patch: [{ op: 'add', path: '/spec/decision/attestation', value: attestation }] };
}
