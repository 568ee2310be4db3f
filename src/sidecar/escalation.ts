/**
 * A call the policy escalated: held on the approval broker until a person
 * decides (or, for clients that can show a URL, answered at once with
 * APPROVAL_PENDING and decided on its retry), then evaluated again with the
 * approval in its input, on the same bundle. An approval for another input
 * (APPROVAL_MISMATCH), a rejection, a timeout or an abandoned wait is a deny.
 */
import type { Approval, ApprovalBroker, ApprovalRequest } from '../gate/types.ts';
import { resolveDecision, type Outcome, type Resolution } from '../gate/resolve.ts';
import { summariseAction, withApproval } from '../gate/input.ts';
import { ErrorCodes, PortcullisError, isPortcullisError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { CallTrace } from './call-trace.ts';
import type { DecisionFrame } from './decision-frame.ts';
import { reportEvaluation } from './evaluation-report.ts';
import type { Recorded } from './intent-evidence.ts';

export interface EscalationDeps {
  approvals?: ApprovalBroker | undefined;
  escalationTimeoutSeconds: number;
  evalSlowMs: number;
  metrics?: PortcullisMetrics | undefined;
  logger?: Logger | undefined;
  clock: () => Date;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Where a person approves the call with this id (approval-url.ts); named in the log and in the errors of a held call. */
  approvalUrl?: ((approvalId: string) => string) | undefined;
}

/** How the caller wants an escalation handled. */
export interface HoldOptions {
  /** Aborted when the agent goes away (the held call is then dropped). */
  signal?: AbortSignal | undefined;
  /** Ask without holding: the call is answered APPROVAL_PENDING for the client to retry. */
  defer?: boolean | undefined;
  /** The retry of a deferred escalation: that approval's verdict applies, once. */
  resume?: string | undefined;
}

/** One escalated call, as recorded. */
export interface Held {
  frame: DecisionFrame;
  res: Resolution;
  outcome: Extract<Outcome, { kind: 'escalate' }>;
  recorded: Recorded;
  trace: CallTrace;
}

/** An approval asked for without holding the call, until its retry uses it. */
interface DeferredApproval {
  expiresAt: number;
  approval?: Approval;
  error?: PortcullisError;
}

function denied(res: Resolution, error: PortcullisError): Resolution {
  return { ...res, outcome: { kind: 'deny', error }, enforced: 'deny' };
}

/** The error of a held call that ended without a verdict, naming the approval (and where to decide it) for the client to show. */
function namingApproval(error: PortcullisError, approvalId: string, url: string | undefined): PortcullisError {
  return new PortcullisError(error.code, error.message, { ...error.details, approvalId, ...(url ? { approvalUrl: url } : {}) });
}

function refusal(code: ErrorCode, message: string, details?: Record<string, unknown>): PortcullisError {
  return new PortcullisError(code, message, details);
}

/** Codes a broker refuses a verdict with (one it cannot trust, or for another input): they reach the agent as they are. */
const REFUSED_VERDICTS: ReadonlySet<string> = new Set([ErrorCodes.APPROVAL_UNATTESTED, ErrorCodes.APPROVAL_MISMATCH]);

/** Why a broker's wait ended without a verdict that counts: a timeout, a refused verdict, or the wait was abandoned. */
function waitError(e: unknown, timedOut: string, abandoned: string): { error: PortcullisError; verdict: 'timeout' | 'refused' | 'abandoned' } {
  if (isPortcullisError(e) && e.code === ErrorCodes.ESCALATION_TIMEOUT) return { error: refusal(ErrorCodes.ESCALATION_TIMEOUT, timedOut), verdict: 'timeout' };
  if (isPortcullisError(e) && REFUSED_VERDICTS.has(e.code)) return { error: e, verdict: 'refused' };
  return { error: refusal(ErrorCodes.ESCALATION_REJECTED, `${abandoned}: ${(e as Error)?.message ?? String(e)}`), verdict: 'abandoned' };
}

export class Escalations {
  readonly #d: EscalationDeps;
  readonly #deferred = new Map<string, DeferredApproval>();

  constructor(deps: EscalationDeps) {
    this.#d = deps;
  }

  /** The resolution that stands once the escalation is settled. */
  async settle(held: Held, options: HoldOptions): Promise<Resolution> {
    const broker = this.#d.approvals;
    if (!broker) return denied(held.res, refusal(ErrorCodes.ESCALATION_REJECTED, `this call needs approval (${held.outcome.reason}) but no approvals interface is configured`));
    if (options.resume !== undefined) return this.#resume(held, options.resume);
    const request = this.#request(held);
    const url = this.#d.approvalUrl?.(request.id);
    this.#announce(held, request, url);
    if (options.defer) return this.#defer(held.res, broker, request);
    return this.#hold(held, { broker, request, url, signal: options.signal });
  }

  #announce(held: Held, request: ApprovalRequest, url: string | undefined): void {
    this.#d.logger?.info({ event: 'escalation', approvalId: request.id, summary: request.summary, expiresAt: request.expiresAt, traceId: held.trace.traceId, ...(url ? { approvalUrl: url } : {}) },
      `held for approval: ${request.summary} (${held.outcome.reason}); ${url ? `open ${url}, or ` : ''}run \`portcullis approve ${request.id}\` or \`portcullis reject ${request.id}\``);
  }

  /** Holds the call until the verdict, the expiry or the agent going away. */
  async #hold(held: Held, wait: { broker: ApprovalBroker; request: ApprovalRequest; url: string | undefined; signal: AbortSignal | undefined }): Promise<Resolution> {
    const { request, url } = wait;
    let approval: Approval;
    try {
      approval = await wait.broker.request(request, wait.signal);
    } catch (e) {
      const later = url ? `; it can still be decided at ${url} before the call is retried` : '';
      const ended = waitError(e, `no approval arrived within ${this.#seconds(held)} s: ${held.outcome.reason}${later}`, 'the held call was abandoned');
      this.#d.metrics?.approvals.inc({ verdict: ended.verdict });
      return denied(held.res, namingApproval(ended.error, request.id, url));
    }
    this.#d.metrics?.approvals.inc({ verdict: approval.verdict });
    if (approval.inputHash !== held.recorded.inputHash) {
      return { ...denied(held.res, refusal(ErrorCodes.APPROVAL_MISMATCH, `approval ${approval.id} is for another input (${approval.inputHash})`)), input: withApproval(held.res.input, approval) };
    }
    return this.#apply(held, approval);
  }

  #seconds(held: Held): number {
    return held.outcome.escalation.timeoutSeconds || this.#d.escalationTimeoutSeconds;
  }

  #request(held: Held): ApprovalRequest {
    const action = held.res.input.action;
    return {
      id: held.recorded.decisionId,
      // The policy that held the call, shown to the person who decides.
      policyDigest: held.res.evaluation.digest,
      inputHash: held.recorded.inputHash,
      summary: summariseAction(action),
      action,
      agent: held.res.input.agent,
      approvers: held.outcome.escalation.approvers,
      expiresAt: new Date(this.#d.clock().getTime() + this.#seconds(held) * 1000).toISOString(),
      traceId: held.trace.traceId,
      reason: held.outcome.reason,
    };
  }

  /** Evaluates again with the approval in the input, on the decision's bundle; a rejection is a deny whatever the policy says. */
  #apply(held: Held, approval: Approval): Resolution {
    const again = resolveDecision(held.frame.policy, withApproval(held.res.input, approval), { mode: held.frame.mode, now: this.#d.now, afterApproval: true });
    reportEvaluation(this.#d, held.frame, again);
    if (approval.verdict === 'approved') return again;
    return denied(again, refusal(ErrorCodes.ESCALATION_REJECTED, `rejected by ${approval.approver}: ${held.outcome.reason}`));
  }

  #pending(res: Resolution, id: string, expiresAt: number, reason: string): Resolution {
    return denied(res, refusal(ErrorCodes.APPROVAL_PENDING, `this call waits for approval ${id} (${reason}); retry it once a person decided`, { approvalId: id, expiresAt: new Date(expiresAt).toISOString() }));
  }

  /** Asks for approval without holding the call; the verdict waits for the retry. */
  #defer(res: Resolution, broker: ApprovalBroker, request: ApprovalRequest): Resolution {
    const now = this.#d.clock().getTime();
    for (const [id, d] of this.#deferred) if (d.expiresAt + 60_000 < now) this.#deferred.delete(id);
    const entry: DeferredApproval = { expiresAt: Date.parse(request.expiresAt) };
    this.#deferred.set(request.id, entry);
    broker.request(request).then(
      (approval) => {
        entry.approval = approval;
        this.#d.metrics?.approvals.inc({ verdict: approval.verdict });
      },
      (e: unknown) => {
        const ended = waitError(e, `no approval arrived before ${request.expiresAt}: ${request.reason}`, 'the approval request was abandoned');
        this.#d.metrics?.approvals.inc({ verdict: ended.verdict });
        entry.error = ended.error;
      },
    );
    return this.#pending(res, request.id, entry.expiresAt, request.reason);
  }

  /** The retry of a deferred escalation: pending again, or the verdict applied once (the approval is then forgotten). */
  #resume(held: Held, id: string): Resolution {
    const entry = this.#deferred.get(id);
    if (!entry) return denied(held.res, refusal(ErrorCodes.MRTR_STATE_INVALID, `no held call waits for approval ${id}: it ran already, or expired; retry the call without requestState to ask again`));
    if (!entry.approval && !entry.error) return this.#pending(held.res, id, entry.expiresAt, held.outcome.reason);
    // Exactly once: whatever the verdict, this approval answers one retry.
    this.#deferred.delete(id);
    if (entry.error) return denied(held.res, entry.error);
    return this.#apply(held, entry.approval!);
  }
}
