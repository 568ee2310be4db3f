/**
 * The approval broker of a sidecar on Kubernetes: a held escalation is sent
 * to the controller, which makes it an ActionApproval; the sidecar then
 * long-polls the controller for the verdict. The sidecar holds no Kubernetes
 * credentials. A verdict is accepted only for the exact input hash of the
 * held call, and only from an approver the policy named, as the controller's
 * admission webhook attested it (verdict-check.ts: a group's membership only
 * the webhook sees). While the controller cannot be reached the call stays
 * held (retrying with backoff) until it expires.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { Approval, ApprovalBroker, ApprovalRequest } from '../gate/types.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { BundleVerificationKey } from '../policy/bundle-signing.ts';
import { checkedVerdict } from './verdict-check.ts';
import { bearerHeader } from './service-account-token.ts';

export interface ControllerApprovalOptions {
  controllerUrl: string;
  logger?: Logger;
  /** How long the controller may hold one poll (default 30 s). */
  waitMs?: number;
  /** The loaded policy's digest, sent with each request for the approval page. */
  policyDigest?: () => string | undefined;
  retryMs?: number;
  clock?: () => Date;
  dispatcher?: Dispatcher;
  /** CA (PEM) to trust for an https controller URL. */
  ca?: string;
  /**
   * Projected service account token (audience portcullis.dev) sent as
   * `Authorization: Bearer`; read on every request because the kubelet
   * rotates it.
   */
  tokenFile?: string;
  /**
   * The controller's public keys (PORTCULLIS_BUNDLE_PUBLIC_KEY): with them,
   * every verdict needs a valid attestation of who gave it; without, only
   * approvers named as users or service accounts can be checked.
   */
  attestationKeys?: readonly BundleVerificationKey[] | undefined;
}

interface VerdictAnswer {
  phase: 'Pending' | 'Approved' | 'Rejected' | 'Expired' | 'Invalid';
  message: string;
  inputHash: string;
  approval: Approval | null;
  /** The admission webhook's signed attestation of the verdict, as stored on the object. */
  attestation?: string;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

export class ControllerApprovalBroker implements ApprovalBroker {
  private readonly dispatcher: Dispatcher;
  private readonly clock: () => Date;

  constructor(private readonly o: ControllerApprovalOptions) {
    const wait = o.waitMs ?? 30_000;
    this.dispatcher = o.dispatcher ?? new Agent({ headersTimeout: wait + 15_000, bodyTimeout: wait + 15_000, ...(o.ca ? { connect: { ca: o.ca } } : {}) });
    this.clock = o.clock ?? (() => new Date());
  }

  async close(): Promise<void> {
    if (!this.o.dispatcher) await this.dispatcher.close();
  }

  private timeout(req: ApprovalRequest): PortcullisError {
    return new PortcullisError(ErrorCodes.ESCALATION_TIMEOUT, `no approval for ${req.id} arrived before ${req.expiresAt}; the call is denied`, { id: req.id });
  }

  private left(req: ApprovalRequest): number {
    return Date.parse(req.expiresAt) - this.clock().getTime();
  }

  async request(req: ApprovalRequest, signal?: AbortSignal): Promise<Approval> {
    const ref = await this.retrying(req, signal, () => this.create(req, signal));
    for (;;) {
      const answer = await this.retrying(req, signal, () => this.poll(ref, signal));
      if (answer.phase === 'Pending') continue;
      if (answer.phase === 'Expired') throw this.timeout(req);
      if (answer.phase === 'Invalid') throw new PortcullisError(ErrorCodes.APPROVAL_MISMATCH, answer.message, { id: req.id });
      return checkedVerdict(req, { ref, inputHash: answer.inputHash, approval: answer.approval, attestation: answer.attestation }, this.o.attestationKeys);
    }
  }

  /** Runs `f` until it succeeds, the request expires, or the signal aborts. */
  private async retrying<T>(req: ApprovalRequest, signal: AbortSignal | undefined, f: () => Promise<T>): Promise<T> {
    let delay = this.o.retryMs ?? 500;
    let logged = false;
    for (;;) {
      this.stillWaiting(req, signal);
      try {
        return await f();
      } catch (e) {
        this.rethrowUnlessRetryable(e, signal);
        if (!logged) this.o.logger?.warn({ approvalId: req.id, err: (e as Error).message }, 'controller unreachable for approvals; the call stays held and is retried');
        logged = true;
        await sleep(Math.min(delay, Math.max(0, this.left(req))), signal);
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  /** Throws when the agent went away or the request expired. */
  private stillWaiting(req: ApprovalRequest, signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw signal.reason;
    if (this.left(req) <= 0) throw this.timeout(req);
  }

  /** Rethrows what retrying cannot mend: the agent went away, or the controller answered with a refusal (anything but UPSTREAM). */
  private rethrowUnlessRetryable(e: unknown, signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw signal.reason;
    if (e instanceof PortcullisError && e.code !== ErrorCodes.UPSTREAM) throw e;
  }

  /** The Authorization header, when a token file is configured. */
  private authorization(): Promise<Record<string, string>> {
    return bearerHeader(this.o.tokenFile);
  }

  /** The request with the loaded policy's digest, for the approval page, when the decider did not give one. */
  private withDigest(req: ApprovalRequest): ApprovalRequest {
    const digest = req.policyDigest ?? this.o.policyDigest?.();
    return digest === undefined ? req : { ...req, policyDigest: digest };
  }

  private async create(req: ApprovalRequest, signal?: AbortSignal): Promise<{ namespace: string; name: string }> {
    const res = await request(new URL('/v1/approvals', this.o.controllerUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await this.authorization()) },
      body: JSON.stringify(this.withDigest(req)),
      signal,
      dispatcher: this.dispatcher,
    }).catch((e) => {
      throw new PortcullisError(ErrorCodes.UPSTREAM, `controller unreachable: ${(e as Error).message}`);
    });
    const body = (await res.body.json()) as { namespace?: string; name?: string; error?: { code?: string; message?: string } };
    if (res.statusCode === 201 && body.namespace && body.name) return { namespace: body.namespace, name: body.name };
    if (res.statusCode >= 500) throw new PortcullisError(ErrorCodes.UPSTREAM, `controller answered HTTP ${res.statusCode}`);
    const code = body.error?.code === ErrorCodes.APPROVAL_MISMATCH ? ErrorCodes.APPROVAL_MISMATCH : ErrorCodes.ESCALATION_REJECTED;
    throw new PortcullisError(code, `the controller refused the approval request: ${body.error?.message ?? `HTTP ${res.statusCode}`}`);
  }

  private async poll(ref: { namespace: string; name: string }, signal?: AbortSignal): Promise<VerdictAnswer> {
    const url = new URL(`/v1/approvals/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.name)}`, this.o.controllerUrl);
    url.searchParams.set('wait', `${this.o.waitMs ?? 30_000}ms`);
    const res = await request(url, { method: 'GET', headers: await this.authorization(), signal, dispatcher: this.dispatcher }).catch((e) => {
      throw new PortcullisError(ErrorCodes.UPSTREAM, `controller unreachable: ${(e as Error).message}`);
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      throw new PortcullisError(ErrorCodes.ESCALATION_REJECTED, `ActionApproval ${ref.namespace}/${ref.name} was deleted before a verdict`);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new PortcullisError(ErrorCodes.UPSTREAM, `controller answered HTTP ${res.statusCode}`);
    }
    return (await res.body.json()) as VerdictAnswer;
  }
}
