/**
 * Verdict attestations: the controller's word that a verdict on an
 * ActionApproval was given through the API server by the user it names, who
 * was then a member of the groups it lists. Only the admission webhook sees
 * who decided (AdmissionReview userInfo: name and groups); a sidecar sees the
 * object, which anyone who can write etcd, or patch around the webhook, can
 * change. So the mutating webhook signs what it saw, with the controller's
 * bundle signing key (Ed25519), and the sidecar — which holds the public keys
 * from its injection (PORTCULLIS_BUNDLE_PUBLIC_KEY) — accepts a verdict only
 * with an attestation that verifies, binds to the held call it asked about,
 * and shows the approver to be one the policy named: a `group:NAME` approver
 * counts only when the attested groups hold NAME.
 *
 * The format is a JWS in compact form (`alg: EdDSA`, `kid` the key ID,
 * `typ` below), so that neither a bundle signature nor an attestation can be
 * taken for the other: a bundle's payload has no `kind`, an attestation's
 * no `files`.
 */
import { verify } from 'node:crypto';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { BundleSigner, BundleVerificationKey } from '../policy/bundle-signing.ts';
import { isRequestedApprover } from './approvers.ts';
import { jwsPart, readJwsPart } from '../policy/jws.ts';

export const ATTESTATION_TYPE = 'portcullis.dev/verdict-attestation';
const KIND = 'VerdictAttestation';

/** What the webhook saw when a verdict was set. */
export interface VerdictAttestation {
  /** The ActionApproval's namespace and name. */
  namespace: string;
  name: string;
  /** The sidecar's id for the held call (spec.requestId). */
  requestId: string;
  inputHash: string;
  verdict: 'Approved' | 'Rejected';
  /** The authenticated user who set the verdict. */
  approver: string;
  /** The requested `group:` approvers' groups the user was in (not every group of theirs: only what the decision needs). */
  groups: string[];
  /** RFC 3339, the webhook's clock. */
  at: string;
}

/** What the sidecar knows of the call it holds, and what the verdict it received says. */
export interface AttestedCall {
  namespace: string;
  name: string;
  requestId: string;
  inputHash: string;
  /** The approvers the sidecar asked for (from the policy), not what the object says now. */
  approvers: readonly string[];
  expiresAt: string;
  verdict: 'Approved' | 'Rejected';
  approver: string;
}

/** The groups of `userGroups` that `approvers` names as `group:NAME`. */
export function requestedGroups(approvers: readonly string[], userGroups: readonly string[]): string[] {
  const named = new Set(approvers.filter((a) => a.startsWith('group:')).map((a) => a.slice('group:'.length)));
  return userGroups.filter((g) => named.has(g));
}

export function signVerdictAttestation(claims: VerdictAttestation, signer: Pick<BundleSigner, 'keyId' | 'sign'>): string {
  const header = jwsPart({ alg: 'EdDSA', kid: signer.keyId, typ: ATTESTATION_TYPE });
  const payload = jwsPart({ kind: KIND, ...claims });
  const signature = Buffer.from(signer.sign(Buffer.from(`${header}.${payload}`, 'ascii'))).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

function refuse(problem: string, details?: Record<string, unknown>): PortcullisError {
  return new PortcullisError(ErrorCodes.APPROVAL_UNATTESTED, `verdict attestation: ${problem}`, details);
}

const STRING_CLAIMS = ['namespace', 'name', 'requestId', 'inputHash', 'approver', 'at'] as const;

/** The payload as claims, or a refusal naming the first field that is missing or of the wrong type. */
function claimsOf(payload: Record<string, unknown>): VerdictAttestation {
  if (payload.kind !== KIND) throw refuse(`the payload is not a ${KIND}`);
  const missing = STRING_CLAIMS.find((k) => typeof payload[k] !== 'string');
  if (missing) throw refuse(`the payload has no ${missing}`);
  if (payload.verdict !== 'Approved' && payload.verdict !== 'Rejected') throw refuse('the payload has no verdict');
  const groups = payload.groups;
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw refuse('the payload has no list of groups');
  const { kind: _kind, ...claims } = payload;
  return claims as unknown as VerdictAttestation;
}

/**
 * The claims of an attestation signed by one of `keys`; throws
 * APPROVAL_UNATTESTED when it is not a JWS of ours, is signed by a key not
 * in `keys`, or does not verify.
 */
export function verifyVerdictAttestation(jws: string, keys: readonly BundleVerificationKey[]): VerdictAttestation {
  const parts = jws.split('.');
  if (parts.length !== 3) throw refuse('not a JWS in compact form');
  const [h, p, s] = parts as [string, string, string];
  const header = readJwsPart(h, 'header', refuse);
  if (header.alg !== 'EdDSA' || header.typ !== ATTESTATION_TYPE) throw refuse(`not an EdDSA ${ATTESTATION_TYPE} (alg ${JSON.stringify(header.alg)}, typ ${JSON.stringify(header.typ)})`);
  const key = keys.find((k) => k.keyId === header.kid);
  if (!key) throw refuse(`signed by key ${String(header.kid)}, which this sidecar does not trust (it trusts ${keys.map((k) => k.keyId).join(', ') || 'no key'})`, { keyId: header.kid });
  if (!verify(null, Buffer.from(`${h}.${p}`, 'ascii'), key.key, Buffer.from(s, 'base64url'))) throw refuse(`the signature does not verify with key ${key.keyId}`, { keyId: key.keyId });
  return claimsOf(readJwsPart(p, 'payload', refuse));
}

const BOUND = ['namespace', 'name', 'requestId', 'inputHash', 'verdict', 'approver'] as const;

/**
 * Why verified claims do not approve (or reject) `call`, or undefined when
 * they do: every bound field matches, the verdict came before the call
 * expired, and the approver — with the attested groups — is one of the
 * approvers the sidecar asked for.
 */
export function attestationRefusal(claims: VerdictAttestation, call: AttestedCall): string | undefined {
  const differs = BOUND.find((k) => claims[k] !== call[k]);
  if (differs) return `it attests ${differs} ${JSON.stringify(claims[differs])}, but the verdict received is for ${JSON.stringify(call[differs])}`;
  if (!(Date.parse(claims.at) <= Date.parse(call.expiresAt))) return `it was given at ${claims.at}, after the call expired (${call.expiresAt})`;
  if (!isRequestedApprover(call.approvers, { username: claims.approver, groups: claims.groups })) {
    const groups = claims.groups.length > 0 ? `groups ${claims.groups.join(', ')}` : 'none of the requested groups';
    return `${claims.approver} (attested: ${groups}) is not among the approvers the policy named (${call.approvers.join(', ')})`;
  }
  return undefined;
}
