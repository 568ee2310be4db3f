/**
 * The approval broker of local mode: held escalations wait in memory until a
 * human answers through the admin endpoint (`portcullis approve ID`), or
 * until they expire. On Kubernetes the controller's broker takes its place.
 * Only an approver the policy named counts: a bare name or `user:NAME` is the
 * name given, `group:NAME` is a group the local membership map puts it in
 * (PORTCULLIS_APPROVER_GROUPS); who may give a name at all is who holds the
 * admin token (admin.ts). With no membership map, the operator (the user who
 * started `portcullis dev`) stands for every group: on one machine the
 * person running the gate is the one who answers for it.
 */
import type { Approval, ApprovalBroker, ApprovalRequest } from '../gate/types.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { groupsOf, isRequestedApprover } from '../gate/approvers.ts';

interface Pending {
  request: ApprovalRequest;
  /** The digest of the policy loaded when the call was held. */
  policyDigest: string | undefined;
  settle: (a: Approval) => void;
  fail: (e: unknown) => void;
}

export type Verdict = Approval['verdict'];

export class LocalApprovalBroker implements ApprovalBroker {
  readonly #pending = new Map<string, Pending>();
  readonly #now: () => Date;
  readonly #groups: Readonly<Record<string, string>>;
  readonly #operator: string | undefined;
  readonly #digest: () => string | undefined;
  readonly #listeners = new Set<() => void>();

  /**
   * `approverGroups`: group → comma-separated user names, for approvers named
   * `group:NAME`; `operator`: who stands for every group while that map is empty;
   * `policyDigest`: the loaded policy's digest, kept with each held call for the approval page.
   */
  constructor(o: { now?: () => Date; approverGroups?: Readonly<Record<string, string>>; operator?: string; policyDigest?: () => string | undefined } = {}) {
    this.#now = o.now ?? (() => new Date());
    this.#groups = o.approverGroups ?? {};
    this.#operator = o.operator;
    this.#digest = o.policyDigest ?? (() => undefined);
  }

  /** Who started the gate, when known: the name the approval page offers first. */
  get operator(): string | undefined {
    return this.#operator;
  }

  /** Calls `listener` whenever a call is held or leaves the queue; returns the unsubscribe. */
  watch(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of [...this.#listeners]) l();
  }

  /** The groups `approver` is in, as far as this gate knows. */
  #groupsOf(approver: string, approvers: readonly string[]): string[] {
    if (Object.keys(this.#groups).length === 0 && approver === this.#operator) {
      return approvers.filter((a) => a.startsWith('group:')).map((a) => a.slice('group:'.length));
    }
    return groupsOf(this.#groups, approver);
  }

  request(req: ApprovalRequest, signal?: AbortSignal): Promise<Approval> {
    if (this.#pending.has(req.id)) {
      return Promise.reject(new PortcullisError(ErrorCodes.APPROVAL_MISMATCH, `approval request ${req.id} is already waiting`));
    }
    return new Promise<Approval>((resolve, reject) => {
      const wait = Math.max(0, Date.parse(req.expiresAt) - this.#now().getTime());
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#pending.delete(req.id)) this.#changed();
      };
      const timer = setTimeout(() => {
        done();
        reject(new PortcullisError(ErrorCodes.ESCALATION_TIMEOUT, `no approval for ${req.id} arrived before ${req.expiresAt}; the call is denied`, { id: req.id }));
      }, wait);
      const onAbort = (): void => {
        done();
        reject(signal!.reason);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(req.id, {
        request: req,
        policyDigest: req.policyDigest ?? this.#digest(),
        settle: (a) => {
          done();
          resolve(a);
        },
        fail: (e) => {
          done();
          reject(e);
        },
      });
      this.#changed();
    });
  }

  /** The requests waiting for a verdict, oldest first. */
  list(): ApprovalRequest[] {
    return [...this.#pending.values()].map((p) => p.request);
  }

  /** The same, each with the digest of the policy that held it. */
  held(): { request: ApprovalRequest; policyDigest: string | undefined }[] {
    return [...this.#pending.values()].map((p) => ({ request: p.request, policyDigest: p.policyDigest }));
  }

  /**
   * Gives a verdict; throws APPROVAL_NOT_FOUND when no such request is waiting,
   * FORBIDDEN (the call stays held) when `approver` is not one the policy named,
   * APPROVAL_MISMATCH (the call stays held) when `inputHash` is given and is not the held call's.
   */
  decide(id: string, verdict: Verdict, approver: string, inputHash?: string): Approval {
    const p = this.#pending.get(id);
    if (!p) throw new PortcullisError(ErrorCodes.APPROVAL_NOT_FOUND, `no held call has approval ID ${id} (it may have expired, or been answered already)`, { id });
    if (inputHash !== undefined && inputHash !== p.request.inputHash) {
      throw new PortcullisError(ErrorCodes.APPROVAL_MISMATCH, `approval ${id} holds input ${p.request.inputHash}, not ${inputHash}: a verdict approves one exact call`, { id });
    }
    if (!isRequestedApprover(p.request.approvers, { username: approver, groups: this.#groupsOf(approver, p.request.approvers) })) {
      throw new PortcullisError(
        ErrorCodes.FORBIDDEN,
        `${approver} is not among the approvers of ${id} (${p.request.approvers.join(', ')}); give one with --approver (a group's members are listed in PORTCULLIS_APPROVER_GROUPS of the gate)`,
        { id },
      );
    }
    const approval: Approval = { id, approver, verdict, inputHash: p.request.inputHash, at: this.#now().toISOString() };
    p.settle(approval);
    return approval;
  }

  /** Rejects every waiting request (shutdown). */
  close(): void {
    for (const p of [...this.#pending.values()]) p.fail(new PortcullisError(ErrorCodes.ESCALATION_REJECTED, 'the gate is shutting down'));
    this.#pending.clear();
  }
}
