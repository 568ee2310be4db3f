/**
 * Verdict attestations: what the mutating webhook signs when a verdict is set
 * (who decided, their requested groups), and what a sidecar accepts — a
 * signature by a key it trusts, over claims that bind to the call it holds,
 * with an approver the policy named. The webhook step and the sidecar's check
 * are exercised with real Ed25519 keys; nothing is mocked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createBundleSigner, parseBundleVerificationKeys } from '../../src/policy/bundle-signing.ts';
import { attestationRefusal, requestedGroups, signVerdictAttestation, verifyVerdictAttestation, type VerdictAttestation } from '../../src/gate/verdict-attestation.ts';
import { attestVerdict } from '../../src/controller/webhooks/verdict-attestation.ts';
import { mutateActionApproval } from '../../src/controller/webhooks/admission.ts';
import { checkedVerdict } from '../../src/sidecar/verdict-check.ts';
import { ErrorCodes, isPortcullisError } from '../../src/errors.ts';
import type { ActionApproval } from '../../src/controller/resources.ts';
import type { ApprovalRequest } from '../../src/gate/types.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

function keyPair(): { signer: ReturnType<typeof createBundleSigner>; keys: ReturnType<typeof parseBundleVerificationKeys> } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signer: createBundleSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    keys: parseBundleVerificationKeys(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'test'),
  };
}

const controller = keyPair();
const H = 'a'.repeat(64);
const now = new Date('2026-01-01T00:01:00Z');
const claims: VerdictAttestation = { namespace: 'agents', name: 'r1', requestId: 'r1', inputHash: H, verdict: 'Approved', approver: 'alice', groups: ['payments'], at: now.toISOString() };
const call = { namespace: 'agents', name: 'r1', requestId: 'r1', inputHash: H, approvers: ['group:payments'], expiresAt: '2026-01-01T00:05:00Z', verdict: 'Approved' as const, approver: 'alice' };

const refused = (f: () => unknown, pattern: RegExp): void => {
  assert.throws(f, (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_UNATTESTED && pattern.test(e.message));
};

test('an attestation verifies with the signing key and gives back its claims', () => {
  const jws = signVerdictAttestation(claims, controller.signer);
  assert.deepEqual(verifyVerdictAttestation(jws, controller.keys), claims);
  assert.equal(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString()).kid, controller.signer.keyId);
});

test('a forged, altered, foreign or malformed attestation is refused', () => {
  const jws = signVerdictAttestation(claims, controller.signer);
  const [h, p, s] = jws.split('.') as [string, string, string];
  // Signed by another key that claims the controller's key ID.
  const other = keyPair();
  const forged = signVerdictAttestation({ ...claims, approver: 'eve', groups: ['payments'] }, { keyId: controller.signer.keyId, sign: other.signer.sign });
  refused(() => verifyVerdictAttestation(forged, controller.keys), /does not verify/);
  // Signed by a key the sidecar does not hold.
  refused(() => verifyVerdictAttestation(signVerdictAttestation(claims, other.signer), controller.keys), /does not trust/);
  // The controller's signature on other claims.
  const altered = Buffer.from(JSON.stringify({ kind: 'VerdictAttestation', ...claims, groups: ['payments', 'admins'] })).toString('base64url');
  refused(() => verifyVerdictAttestation(`${h}.${altered}.${s}`, controller.keys), /does not verify/);
  // A bundle signature by the same key is not an attestation.
  const bundleJws = JSON.parse(Buffer.from(controller.signer.signatures(new Map([['/data.json', new Uint8Array([1])]]))).toString()).signatures[0];
  refused(() => verifyVerdictAttestation(bundleJws, controller.keys), /not an EdDSA portcullis\.dev\/verdict-attestation/);
  refused(() => verifyVerdictAttestation(`${h}.${p}`, controller.keys), /compact form/);
  refused(() => verifyVerdictAttestation(`x.${p}.${s}`, controller.keys), /header is not base64url JSON/);
  // Correctly signed, but not the claims an attestation has.
  const noGroups = Buffer.from(JSON.stringify({ kind: 'VerdictAttestation', ...claims, groups: 'payments' })).toString('base64url');
  const signed = `${h}.${noGroups}.${Buffer.from(controller.signer.sign(Buffer.from(`${h}.${noGroups}`))).toString('base64url')}`;
  refused(() => verifyVerdictAttestation(signed, controller.keys), /no list of groups/);
});

test('verified claims count only for the call they name, before it expired, for an approver the policy named', () => {
  assert.equal(attestationRefusal(claims, call), undefined);
  assert.equal(attestationRefusal({ ...claims, approver: 'carol', groups: [] }, { ...call, approver: 'carol', approvers: ['user:carol'] }), undefined);
  assert.match(attestationRefusal(claims, { ...call, requestId: 'r2' })!, /requestId "r1"/);
  assert.match(attestationRefusal(claims, { ...call, name: 'r2' })!, /name "r1"/);
  assert.match(attestationRefusal(claims, { ...call, inputHash: 'b'.repeat(64) })!, /inputHash/);
  assert.match(attestationRefusal(claims, { ...call, verdict: 'Rejected' })!, /verdict "Approved"/);
  assert.match(attestationRefusal(claims, { ...call, approver: 'bob' })!, /approver "alice"/);
  assert.match(attestationRefusal(claims, { ...call, expiresAt: '2026-01-01T00:00:30Z' })!, /after the call expired/);
  assert.match(attestationRefusal({ ...claims, groups: [] }, call)!, /alice \(attested: none of the requested groups\) is not among the approvers the policy named \(group:payments\)/);
  assert.match(attestationRefusal(claims, { ...call, approvers: ['group:treasury'] })!, /not among/);
});

test('only the requested groups are attested', () => {
  assert.deepEqual(requestedGroups(['group:payments', 'user:carol', 'group:treasury'], ['system:authenticated', 'payments', 'eng']), ['payments']);
  assert.deepEqual(requestedGroups(['user:carol'], ['payments']), []);
});

const held: ActionApproval = {
  metadata: { name: 'r1', namespace: 'agents' },
  spec: { inputHash: H, summary: 's', action: { type: 'http', tool: 'p' }, agent: { namespace: 'agents', pod: 'p', serviceAccount: 'sa' }, approvers: ['group:payments'], expiresAt: '2026-01-01T00:05:00Z', requestId: 'r1' },
};
const decided = (approver: string, extra: Record<string, unknown> = {}): ActionApproval => ({ ...held, spec: { ...held.spec, decision: { verdict: 'Approved', inputHash: H, approver, ...extra } } });

test('the webhook attests a verdict it would accept, replacing any the user sent, and nothing else', () => {
  const alice = { username: 'alice', groups: ['system:authenticated', 'payments'] };
  const out = attestVerdict({ next: decided('alice', { attestation: 'sent.by.alice' }), old: held, user: alice }, controller.signer, now);
  assert.ok(out && 'patch' in out);
  assert.equal(out.patch[0]!.op, 'add');
  assert.equal(out.patch[0]!.path, '/spec/decision/attestation');
  assert.deepEqual(verifyVerdictAttestation(out.patch[0]!.value, controller.keys), claims);
  // A non-member: no attestation (the validating webhook refuses it with this reason).
  const eve = attestVerdict({ next: decided('eve'), old: held, user: { username: 'eve', groups: ['eng'] } }, controller.signer, now);
  assert.ok(eve && 'refusal' in eve && /eve is not among the requested approvers/.test(eve.refusal));
  // An update that does not set the verdict.
  assert.equal(attestVerdict({ next: { ...held, metadata: { ...held.metadata, labels: { a: 'b' } } }, old: held, user: alice }, controller.signer, now), undefined);
  assert.equal(attestVerdict({ next: decided('alice'), old: decided('alice'), user: alice }, controller.signer, now), undefined);
});

test('the mutating webhook answers an AdmissionReview with the attestation as a JSONPatch', () => {
  const logger = createLogger({ level: 'silent' });
  const req = { uid: 'u1', kind: { group: 'portcullis.dev', version: 'v1alpha1', kind: 'ActionApproval' }, namespace: 'agents', name: 'r1', operation: 'UPDATE' as const, object: decided('alice'), oldObject: held, userInfo: { username: 'alice', groups: ['payments'] } };
  const answer = mutateActionApproval(req, { logger, attestationSigner: controller.signer }, now) as any;
  assert.equal(answer.response.allowed, true);
  assert.equal(answer.response.patchType, 'JSONPatch');
  const patch = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString());
  assert.equal(verifyVerdictAttestation(patch[0].value, controller.keys).approver, 'alice');
  const eve = mutateActionApproval({ ...req, object: decided('eve'), userInfo: { username: 'eve', groups: ['eng'] } }, { logger, attestationSigner: controller.signer }, now) as any;
  assert.deepEqual(eve.response, { uid: 'u1', allowed: true });
});

function request(approvers: string[]): ApprovalRequest {
  return { id: 'r1', inputHash: H, summary: 's', action: { type: 'http', tool: 'p' }, agent: { namespace: 'agents', pod: 'p', serviceAccount: 'sa', labels: {}, annotations: {} }, approvers, expiresAt: '2099-01-01T00:00:00Z', traceId: '0'.repeat(32), reason: 'r' };
}
const approval = (approver: string) => ({ id: 'r1', approver, verdict: 'approved' as const, inputHash: H, at: now.toISOString() });
const ref = { namespace: 'agents', name: 'r1' };

test('the sidecar: with keys, every verdict needs a valid attestation; without, a group approver cannot be checked', () => {
  const attestation = signVerdictAttestation(claims, controller.signer);
  assert.equal(checkedVerdict(request(['group:payments']), { ref, inputHash: H, approval: approval('alice'), attestation }, controller.keys).approver, 'alice');
  refused(() => checkedVerdict(request(['group:payments']), { ref, inputHash: H, approval: approval('alice') }, controller.keys), /carries no attestation/);
  refused(() => checkedVerdict(request(['user:alice']), { ref, inputHash: H, approval: approval('alice') }, controller.keys), /carries no attestation/);
  refused(() => checkedVerdict(request(['group:payments']), { ref, inputHash: H, approval: approval('eve'), attestation }, controller.keys), /approver "alice"/);
  refused(() => checkedVerdict(request(['group:payments']), { ref, inputHash: H, approval: approval('alice'), attestation }, keyPair().keys), /does not trust/);
  // A verdict for another input is a mismatch before anything else.
  assert.throws(() => checkedVerdict(request(['group:payments']), { ref, inputHash: 'b'.repeat(64), approval: approval('alice'), attestation }, controller.keys), (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_MISMATCH);
  // No keys: named users by name; a group only with an attestation nobody here can verify.
  assert.equal(checkedVerdict(request(['user:alice']), { ref, inputHash: H, approval: approval('alice') }, undefined).approver, 'alice');
  assert.throws(() => checkedVerdict(request(['user:alice']), { ref, inputHash: H, approval: approval('eve') }, undefined), (e) => isPortcullisError(e) && e.code === ErrorCodes.APPROVAL_MISMATCH);
  refused(() => checkedVerdict(request(['group:payments']), { ref, inputHash: H, approval: approval('alice'), attestation }, undefined), /holds no key/);
});
