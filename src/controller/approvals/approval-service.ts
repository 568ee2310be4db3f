/**
 * The controller's side of approvals. Sidecars POST a held escalation; it
 * becomes an ActionApproval in the agent's namespace. A sidecar long-polls
 * `GET /v1/approvals/{namespace}/{name}?wait=30s` for the verdict, which a
 * human sets by patching the object (`portcullis approve|reject NAME`). The
 * leader marks expired approvals and deletes old resolved ones.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import { errorBody } from '../../gate/error-response.ts';
import type { ApprovalRequest } from '../../gate/types.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { kubeStatusCode, type KubeApi } from '../k8s/kube-api.ts';
import { ACTION_APPROVALS, API_VERSION, type ActionApproval } from '../resources.ts';
import { parseWait } from '../server/wait-param.ts';
import { actionApprovalFor, approvalOf, phaseOf } from './approval-state.ts';
import { CallerAuthenticator, type ServiceAccountIdentity } from './caller-auth.ts';
import { registerApprovalPage } from '../../approval-page/routes.ts';
import { clusterApprovalPage, tokenSignIn, type PageSignIn } from './approval-page.ts';

/** On an ActionApproval: the service account whose token asked for it. */
export const ANNOTATION_REQUESTED_BY = 'portcullis.dev/requested-by';

export interface ApprovalServiceDeps {
  kube: KubeApi;
  logger: Logger;
  isLeader: () => boolean;
  clock?: () => Date;
  /** Resolved and expired approvals are deleted this long after they end (default 1 h). */
  retentionSeconds?: number;
  /** Checks the caller's service account token on POST /v1/approvals. */
  authenticator: CallerAuthenticator;
}

type Waiter = () => void;

const key = (ns: string, name: string): string => `${ns}/${name}`;

/** What a held call must carry, one test per field. */
const APPROVAL_REQUEST_FIELDS: readonly ((r: Record<string, unknown>) => boolean)[] = [
  (r) => typeof r.id === 'string',
  (r) => typeof r.inputHash === 'string',
  (r) => typeof r.summary === 'string',
  (r) => typeof r.expiresAt === 'string' && !Number.isNaN(Date.parse(r.expiresAt)),
  (r) => Array.isArray(r.approvers),
  (r) => typeof r.action === 'object',
  (r) => hasAgent(r.agent as Record<string, unknown> | undefined),
];

function hasAgent(agent: Record<string, unknown> | undefined): boolean {
  return typeof agent?.namespace === 'string' && typeof agent?.pod === 'string';
}

function isApprovalRequest(b: unknown): b is ApprovalRequest {
  const r = b as Record<string, unknown> | null;
  return !!r && APPROVAL_REQUEST_FIELDS.every((holds) => holds(r));
}

/** Whether the approval ended (status.resolvedAt) at least `retentionMs` before `now`. */
function endedLongAgo(a: ActionApproval, now: Date, retentionMs: number): boolean {
  const ended = a.status?.resolvedAt ? Date.parse(a.status.resolvedAt) : undefined;
  return ended !== undefined && now.getTime() - ended >= retentionMs;
}

/** A status write the API server refused (422), and what it would have said. */
interface RefusedStatusWrite {
  a: ActionApproval;
  /** `namespace/name@resourceVersion`: the object version not retried. */
  version: string;
  phase: string;
  message: string;
  err: Error;
}

export class ApprovalService {
  private readonly cache = new Map<string, ActionApproval>();
  /** Object versions whose status the API server refused (422): not retried. */
  private readonly refusedStatus = new Set<string>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** The approval page's live lists: told of every change. */
  private readonly listeners = new Set<() => void>();
  private readonly clock: () => Date;

  constructor(private readonly deps: ApprovalServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  // Informer handlers.
  upsert(a: ActionApproval): void {
    const k = key(a.metadata.namespace!, a.metadata.name!);
    this.cache.set(k, a);
    const set = this.waiters.get(k);
    if (set) for (const w of [...set]) w();
    this.changed();
    if (this.deps.isLeader()) void this.markStatus(a);
  }

  remove(a: ActionApproval): void {
    const k = key(a.metadata.namespace!, a.metadata.name!);
    this.cache.delete(k);
    const set = this.waiters.get(k);
    if (set) for (const w of [...set]) w();
    this.changed();
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** The approvals as the informer last saw them. */
  approvals(): Iterable<ActionApproval> {
    return this.cache.values();
  }

  /** Calls `listener` on every change to an approval; returns the unsubscribe. */
  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Creates the ActionApproval for a held call (idempotent for a retried request). */
  async create(req: ApprovalRequest, caller: ServiceAccountIdentity): Promise<ActionApproval> {
    const obj = actionApprovalFor(req, req.agent.namespace);
    // What the token proved, not what the request says.
    obj.spec.agent.serviceAccount = caller.name;
    obj.metadata.annotations = { ...obj.metadata.annotations, [ANNOTATION_REQUESTED_BY]: caller.username };
    try {
      const made = await this.deps.kube.create(ACTION_APPROVALS, obj);
      this.deps.logger.info({ approval: key(req.agent.namespace, obj.metadata.name!), summary: req.summary, approvers: req.approvers }, 'approval requested');
      // What `kubectl get events` shows the people who decide.
      await this.deps.kube
        .recordEvent(
          {
            regarding: { apiVersion: API_VERSION, kind: 'ActionApproval', namespace: req.agent.namespace, name: obj.metadata.name!, uid: made.metadata.uid },
            type: 'Normal',
            reason: 'ApprovalRequested',
            message: `${req.summary} (pod ${req.agent.pod}): ${req.reason}; approvers ${req.approvers.join(', ') || 'any'}; run \`portcullis approve ${obj.metadata.name} --kube -n ${req.agent.namespace}\` before ${req.expiresAt}`,
          },
          'portcullis-controller',
        )
        .catch((e) => this.deps.logger.warn({ err: (e as Error).message }, 'could not record the approval event'));
      return made;
    } catch (e) {
      if (kubeStatusCode(e) !== 409) throw e;
      const existing = await this.deps.kube.get<ActionApproval>(ACTION_APPROVALS, req.agent.namespace, obj.metadata.name!);
      if (!existing || existing.spec.inputHash !== req.inputHash) {
        throw new PortcullisError(ErrorCodes.APPROVAL_MISMATCH, `ActionApproval ${obj.metadata.name} exists for a different call (input hash differs)`);
      }
      return existing;
    }
  }

  /** Waits until the approval is no longer pending, or `waitMs` passes; undefined when it does not exist. */
  private async wait(ns: string, name: string, waitMs: number, signal: AbortSignal): Promise<ActionApproval | undefined> {
    const k = key(ns, name);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const a = this.cache.get(k) ?? (await this.deps.kube.get<ActionApproval>(ACTION_APPROVALS, ns, name));
      if (!a) return undefined;
      const { phase } = phaseOf(a, this.clock());
      const left = Math.min(deadline - Date.now(), Date.parse(a.spec.expiresAt) - this.clock().getTime() + 10);
      if (phase !== 'Pending' || left <= 0 || signal.aborted) return a;
      await new Promise<void>((resolve) => {
        let set = this.waiters.get(k);
        if (!set) this.waiters.set(k, (set = new Set()));
        const done = (): void => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          set!.delete(done);
          if (set!.size === 0) this.waiters.delete(k);
          resolve();
        };
        const t = setTimeout(done, left);
        signal.addEventListener('abort', done, { once: true });
        set.add(done);
      });
    }
  }

  /** The service account behind `Authorization: Bearer …` (the sidecar's projected token); throws UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined): Promise<ServiceAccountIdentity> {
    return this.deps.authenticator.authenticate(authorization);
  }

  /** The authenticated caller, allowed in `namespace`, or the 401/403 error to answer with. */
  private async caller(authorization: string | undefined, namespace: string): Promise<ServiceAccountIdentity | PortcullisError> {
    try {
      const who = await this.deps.authenticator.authenticate(authorization);
      CallerAuthenticator.allow(who, namespace);
      return who;
    } catch (e) {
      if (!(e instanceof PortcullisError) || (e.code !== ErrorCodes.UNAUTHENTICATED && e.code !== ErrorCodes.FORBIDDEN)) throw e;
      this.deps.logger.warn({ err: e.message, namespace }, 'approvals API call refused');
      return e;
    }
  }

  /** The approval page alone, with this sign-in (the authenticating proxy's listener: controller.ts). */
  registerPage(app: FastifyInstance, signIn: PageSignIn): void {
    registerApprovalPage(app, clusterApprovalPage(this, signIn, this.clock));
  }

  register(app: FastifyInstance): void {
    // The page people decide on (/approvals/): signed in with their own Kubernetes token.
    this.registerPage(app, tokenSignIn(this.deps.kube));
    app.post('/v1/approvals', async (req, reply) => {
      if (!isApprovalRequest(req.body)) {
        return reply.code(400).send(errorBody(new PortcullisError(ErrorCodes.BAD_REQUEST, 'expected an approval request: id, inputHash, summary, action, agent, approvers, expiresAt')));
      }
      const caller = await this.caller(req.headers.authorization, req.body.agent.namespace);
      if (caller instanceof PortcullisError) return reply.code(caller.code === ErrorCodes.UNAUTHENTICATED ? 401 : 403).send(errorBody(caller));
      const a = await this.create(req.body, caller);
      return reply.code(201).send({ namespace: a.metadata.namespace, name: a.metadata.name });
    });
    app.get<{ Params: { namespace: string; name: string }; Querystring: { wait?: string } }>('/v1/approvals/:namespace/:name', async (req, reply) => {
      const waitMs = parseWait(req.query.wait, 60_000);
      if (waitMs === undefined) return reply.code(400).send(errorBody(new PortcullisError(ErrorCodes.BAD_REQUEST, `wait="${req.query.wait}" is invalid`)));
      // A verdict is read only by a sidecar of the approval's namespace.
      const caller = await this.caller(req.headers.authorization, req.params.namespace);
      if (caller instanceof PortcullisError) return reply.code(caller.code === ErrorCodes.UNAUTHENTICATED ? 401 : 403).send(errorBody(caller));
      const abort = new AbortController();
      req.raw.once('close', () => abort.abort());
      const a = await this.wait(req.params.namespace, req.params.name, waitMs, abort.signal);
      if (!a) return reply.code(404).send(errorBody(new PortcullisError(ErrorCodes.APPROVAL_NOT_FOUND, `ActionApproval ${req.params.namespace}/${req.params.name} does not exist`)));
      const { phase, message } = phaseOf(a, this.clock());
      // The webhook's signed word on who decided: passed through as stored, for the sidecar to verify.
      const attestation = a.spec.decision?.attestation;
      return { name: a.metadata.name, namespace: a.metadata.namespace, inputHash: a.spec.inputHash, phase, message, approval: approvalOf(a) ?? null, ...(attestation ? { attestation } : {}) };
    });
  }

  /** Leader: writes status.phase when it differs from what the object says. */
  private async markStatus(a: ActionApproval): Promise<void> {
    const { phase, message } = phaseOf(a, this.clock());
    if (a.status?.phase === phase) return;
    const version = `${key(a.metadata.namespace!, a.metadata.name!)}@${a.metadata.resourceVersion}`;
    if (this.refusedStatus.has(version)) return;
    const resolvedAt = phase === 'Pending' ? undefined : this.clock().toISOString();
    try {
      await this.deps.kube.patchStatus(ACTION_APPROVALS, a.metadata.namespace!, a.metadata.name!, { phase, message, ...(resolvedAt ? { resolvedAt } : {}) });
      if (phase !== 'Pending') this.deps.logger.info({ approval: key(a.metadata.namespace!, a.metadata.name!), phase }, 'approval resolved');
    } catch (e) {
      const code = kubeStatusCode(e);
      if (code === 422) return this.statusRefused({ a, version, phase, message, err: e as Error });
      if (code !== 404) this.deps.logger.warn({ err: (e as Error).message }, 'approval status write failed');
    }
  }

  /**
   * The API server re-checks the whole object, spec rules included, on a status
   * write: an object stored around its validation (written to etcd directly)
   * can never get a status. Say so once, loudly, and stop retrying that version;
   * sidecars refuse its decision either way (approvalOf).
   */
  private async statusRefused({ a, version, phase, message, err }: RefusedStatusWrite): Promise<void> {
    this.refusedStatus.add(version);
    const approval = key(a.metadata.namespace!, a.metadata.name!);
    this.deps.logger.error({ approval, phase, err: err.message }, 'ActionApproval breaks its CRD rules, so its status cannot be written: it was stored around the API server; it approves nothing');
    await this.deps.kube
      .recordEvent(
        {
          regarding: { apiVersion: API_VERSION, kind: 'ActionApproval', namespace: a.metadata.namespace!, name: a.metadata.name!, uid: a.metadata.uid },
          type: 'Warning',
          reason: 'StatusRefused',
          message: `${phase}: ${message}; the API server refuses a status for this object (${err.message}), so it was written around its validation`,
        },
        'portcullis-controller',
      )
      .catch((e) => this.deps.logger.warn({ err: (e as Error).message }, 'could not record the approval event'));
  }

  /** Leader: marks expired approvals and deletes those that ended more than the retention ago. */
  async sweep(): Promise<void> {
    if (!this.deps.isLeader()) return;
    const now = this.clock();
    const retention = (this.deps.retentionSeconds ?? 3600) * 1000;
    for (const a of [...this.cache.values()]) await this.sweepOne(a, now, retention);
  }

  /** Marks one approval's phase when it changed; deletes it when it ended more than `retentionMs` ago. */
  private async sweepOne(a: ActionApproval, now: Date, retentionMs: number): Promise<void> {
    const { phase } = phaseOf(a, now);
    if (a.status?.phase !== phase) await this.markStatus(a);
    if (phase === 'Pending' || !endedLongAgo(a, now, retentionMs)) return;
    await this.deps.kube.delete(ACTION_APPROVALS, a.metadata.namespace!, a.metadata.name!).catch((e) => this.deps.logger.warn({ err: (e as Error).message }, 'approval cleanup failed'));
  }

  /** Leader: catch up on every cached approval (after an election). */
  async onLeadership(): Promise<void> {
    await Promise.all([...this.cache.values()].map((a) => this.markStatus(a)));
  }
}
