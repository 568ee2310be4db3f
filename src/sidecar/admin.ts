/**
 * The admin server, on its own port: liveness, readiness (ready only with a
 * loaded bundle), Prometheus metrics, the loaded bundle, and in local mode the
 * approvals of held escalations. Approvals need the admin token (`portcullis
 * dev` writes it to a file only its user can read): anyone who can reach the
 * port could otherwise let any held call through.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { PolicyEngine } from '../policy/types.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { EvidenceRecorder } from '../evidence/recorder.ts';
import { errorBody, httpStatusFor, toPortcullisError } from '../gate/error-response.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { LocalApprovalBroker } from './local-approvals.ts';
import { tokenMatches } from './admin-token.ts';
import { registerApprovalPage } from '../approval-page/routes.ts';
import { localApprovalPage } from './local-approval-page.ts';

export interface AdminDeps {
  engine: PolicyEngine;
  bundleName: () => string;
  metrics?: PortcullisMetrics | undefined;
  approvals?: LocalApprovalBroker | undefined;
  recorder?: EvidenceRecorder | undefined;
  /** Bearer token the approvals endpoints require; without one they answer 401 to everyone. */
  adminToken?: string | undefined;
  /** Where that token is written, for the approval page's sign-in hint. */
  adminTokenFile?: string | undefined;
  /** Why the gate is not ready besides the bundle (capture not active), or undefined. */
  notReady?: (() => string | undefined) | undefined;
  /**
   * What /readyz adds about the bundle's source (the controller's bundle client):
   * a refused bundle, a kept one enforced after a restart. Ready or not is unchanged.
   */
  bundleStatus?: (() => Record<string, unknown> | undefined) | undefined;
}

function verdictBody(body: unknown): { verdict: 'approved' | 'rejected'; approver: string; inputHash?: string } {
  const b = body as Record<string, unknown> | null;
  const { verdict, approver, inputHash } = b ?? {};
  const hashOk = inputHash === undefined || typeof inputHash === 'string';
  if ((verdict !== 'approved' && verdict !== 'rejected') || typeof approver !== 'string' || approver.trim() === '' || !hashOk) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, 'send {"verdict": "approved" | "rejected", "approver": "<who>", "inputHash"?: "<the held call\'s>"}');
  }
  return { verdict, approver: approver.trim(), ...(typeof inputHash === 'string' ? { inputHash } : {}) };
}

export function buildAdmin(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  app.setErrorHandler((err, _req, reply) => {
    const e = toPortcullisError(err);
    const code = (err as { statusCode?: number }).statusCode;
    const status = e.code === ErrorCodes.UPSTREAM && code && code < 500 ? code : httpStatusFor(e.code);
    void reply.code(status).send(errorBody(e));
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const bundle = deps.engine.current();
    const source = deps.bundleStatus?.() ?? {};
    if (!bundle) return reply.code(503).send({ status: 'not ready', reason: 'no policy bundle is loaded', ...source });
    const notReady = deps.notReady?.();
    if (notReady) return reply.code(503).send({ status: 'not ready', reason: notReady, ...source });
    return { status: 'ready', bundle: deps.bundleName(), digest: bundle.digest, ...source };
  });
  app.get('/metrics', async (_req, reply) => {
    if (!deps.metrics) return reply.code(404).send({ error: 'metrics are not enabled' });
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.get('/v1/bundle', async (_req, reply) => {
    const b = deps.engine.current();
    if (!b) return reply.code(404).send(errorBody(new PortcullisError(ErrorCodes.POLICY_NO_BUNDLE, 'no policy bundle is loaded')));
    return { name: deps.bundleName(), digest: b.digest, compiler: b.compiler, entrypoints: b.entrypoints, tools: b.tools };
  });
  app.get('/v1/ledger/head', async (_req, reply) => {
    const head = deps.recorder?.head();
    return head ? head : reply.code(404).send({ error: 'nothing recorded yet' });
  });
  const unauthenticated = (authorization: string | undefined): PortcullisError | undefined => {
    if (deps.adminToken && tokenMatches(authorization, deps.adminToken)) return undefined;
    return new PortcullisError(
      ErrorCodes.UNAUTHENTICATED,
      deps.adminToken
        ? 'approvals need the admin token as `Authorization: Bearer`: portcullis approve reads it from the file portcullis dev printed (--token-file, PORTCULLIS_ADMIN_TOKEN_FILE)'
        : 'approvals are off: this gate has no admin token',
    );
  };
  app.get('/v1/approvals', async (req, reply) => {
    if (!deps.approvals) return reply.code(404).send(errorBody(new PortcullisError(ErrorCodes.APPROVAL_NOT_FOUND, 'approvals are not handled here')));
    const refused = unauthenticated(req.headers.authorization);
    if (refused) return reply.code(401).send(errorBody(refused));
    return { approvals: deps.approvals.list() };
  });
  app.post<{ Params: { id: string } }>('/v1/approvals/:id', async (req, reply) => {
    if (!deps.approvals) return reply.code(404).send(errorBody(new PortcullisError(ErrorCodes.APPROVAL_NOT_FOUND, 'approvals are not handled here')));
    const refused = unauthenticated(req.headers.authorization);
    if (refused) return reply.code(401).send(errorBody(refused));
    const { verdict, approver, inputHash } = verdictBody(req.body);
    return { approval: deps.approvals.decide(req.params.id, verdict, approver, inputHash) };
  });
  // The page people decide on: /approvals/ (the same admin token).
  if (deps.approvals) registerApprovalPage(app, localApprovalPage(deps.approvals, deps.adminToken, deps.adminTokenFile));
  return app;
}
