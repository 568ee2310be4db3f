/**
 * Plain HTTP calls, through the forward proxy or a `/tools/<name>/…` route:
 * build the action, decide, then forward (possibly rewritten) or refuse.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Action, HttpAction } from '../gate/types.ts';
import { buildHttpAction } from '../gate/http-action.ts';
import { forwardHeaders } from '../gate/headers.ts';
import { formatAuthority } from '../gate/host.ts';
import { formatQuery } from '../gate/path.ts';
import { toPortcullisError } from '../gate/error-response.ts';
import { ErrorCodes } from '../errors.ts';
import { callInfo, refuse, type ProxyContext } from './proxy-context.ts';
import { carryOut, type Forwarding } from './carry-out.ts';
import type { FinishInfo } from './call-end.ts';
import { relayResponse, type RelayPlan } from './relay.ts';
import type { Decided } from './decider.ts';
import type { UpstreamRequest } from './upstream.ts';
import type { ForwardTarget, NamedTarget } from './routes.ts';
import { metricToolFor } from './metric-tool.ts';
import { presentCredential } from './credentials.ts';

function bodyOf(req: FastifyRequest): Buffer | undefined {
  return Buffer.isBuffer(req.body) ? req.body : undefined;
}

function originOf(h: HttpAction): string {
  return `${h.scheme}://${formatAuthority(h.host, h.port)}`;
}

/**
 * The upstream request for a call as decided: the agent's request, with the
 * fields a compute rewrite names (and only those) set from the decided
 * action. A rewritten header whose value is what the policy was shown stays
 * as the agent sent it: the policy saw secrets hashed, and copying a header
 * through must not replace the secret with its hash.
 */
export function upstreamRequestFor(original: Action, outcome: Forward, req: FastifyRequest, forward: ForwardPath): UpstreamRequest {
  const d = outcome.action.http!;
  const r = outcome.rewrite?.http;
  const headers = forwardHeaders(req.headers, outcome.constraints.stripHeaders ?? []);
  const agentQuery = forward.rawQuery ? '?' + forward.rawQuery : '';
  let body: Buffer | string | undefined = bodyOf(req);
  let path = forward.path + agentQuery;
  if (r) {
    for (const [k, v] of Object.entries(r.headers ?? {})) if (original.http!.headers[k.toLowerCase()] !== v) headers[k.toLowerCase()] = v;
    // A rewritten path is the decided action's (encoded by applyRewrite); one equal to the agent's keeps the agent's spelling.
    const rewrittenPath = r.path !== undefined && d.rawPath !== original.http!.rawPath;
    if (rewrittenPath || r.query !== undefined) path = (rewrittenPath ? d.rawPath : forward.path) + (r.query !== undefined ? formatQuery(d.query) : agentQuery);
    if (r.body !== undefined) {
      body = JSON.stringify(d.body ?? null);
      headers['content-type'] = 'application/json';
    }
  }
  return { origin: originOf(d), path, method: d.method, headers, body, timeoutMs: outcome.constraints.timeoutMs ?? forward.timeoutMs };
}

/** Where the agent's request goes on the upstream, and the deadline when the policy sets none. */
export interface ForwardPath {
  path: string;
  rawQuery: string;
  timeoutMs: number;
}

type Forward = Extract<Decided['outcome'], { kind: 'forward' }>;

type RelayExtras = Pick<RelayPlan, 'extraMessages' | 'jsonRpc' | 'screenLine' | 'rewriteMessage' | 'screenMessage'>;

/**
 * Forwards an allowed call and relays the answer; resolves with what the agent
 * received. Throws on failure: carryOut ends the call with the error.
 */
export async function forwardAndRelay(ctx: ProxyContext, reply: FastifyReply, decided: Forwarding, request: UpstreamRequest, relayExtras: RelayExtras): Promise<FinishInfo> {
  // Last, once the call is allowed: the credential is in this request only, never in what was decided or recorded.
  try {
    const presented = await presentCredential(ctx.credentials, request, ctx.engine.current()?.tools);
    if (presented) ctx.logger?.debug({ decisionId: decided.decisionId, ...presented }, 'tool credential presented');
  } catch (e) {
    throw toPortcullisError(e);
  }
  const up = decided.trace.upstream(request.method, request.origin + request.path);
  request.headers['traceparent'] = up.traceparent;
  const started = performance.now();
  const tool = decided.metricTool;
  let res;
  try {
    res = await ctx.upstream.request(request);
    ctx.metrics?.upstreamSeconds.observe({ tool, outcome: 'ok' }, (performance.now() - started) / 1000);
  } catch (e) {
    const err = toPortcullisError(e, ErrorCodes.UPSTREAM);
    ctx.metrics?.upstreamSeconds.observe({ tool, outcome: 'error' }, (performance.now() - started) / 1000);
    up.end(0, err.code);
    throw err;
  }
  up.end(res.statusCode);
  return relayResponse(reply, res, { constraints: decided.outcome.constraints, bufferLimitBytes: ctx.config.bodyLimitBytes * 16, ...relayExtras });
}

/** Forwards decided calls as one upstream request (a batch's messages: `others` end as `decided` does). */
export function forwardDecided(ctx: ProxyContext, reply: FastifyReply, decided: Decided, request: UpstreamRequest, relayExtras: RelayExtras = {}, others: Decided[] = []): Promise<void> {
  return carryOut(reply, [decided, ...others], (call) => forwardAndRelay(ctx, reply, call, request, relayExtras));
}

export async function handleHttp(ctx: ProxyContext, req: FastifyRequest, reply: FastifyReply, target: ForwardTarget | NamedTarget): Promise<void> {
  const tool = target.kind === 'forward' ? '' : target.tool.name;
  let built;
  try {
    built = buildHttpAction(
      { method: req.method, scheme: target.scheme, authority: target.authority, target: target.target, headers: req.headers, body: bodyOf(req) },
      tool,
      ctx.config.redactHeaders,
    );
  } catch (e) {
    return refuse(ctx, req, reply, e);
  }
  const action = built.action;
  if (target.kind === 'forward') action.tool = action.http!.host;
  else action.http!.rawPath = target.rawRest;
  const call = callInfo(req, reply, target.kind === 'forward' ? metricToolFor(action.http!, ctx.engine.current()?.tools) : undefined);
  const decided = await ctx.decider.decide(action, call);
  const forward = { path: built.forwardPath, rawQuery: built.rawQuery, timeoutMs: ctx.config.upstreamTimeoutMs };
  return carryOut(reply, [decided], (allowed) => forwardAndRelay(ctx, reply, allowed, upstreamRequestFor(action, allowed.outcome, req, forward), {}));
}
