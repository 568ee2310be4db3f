/**
 * Plain HTTP calls, through the forward proxy or a `/tools/<name>/…` route:
 * build the action, decide, then forward (possibly rewritten) or refuse.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Action, HttpAction, Rewrite } from '../gate/types.ts';
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
import type { UpstreamRequest, UpstreamResponse } from './upstream.ts';
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
 * action.
 */
export function upstreamRequestFor(original: Action, outcome: Forward, req: FastifyRequest, forward: ForwardPath): UpstreamRequest {
  const d = outcome.action.http!;
  const sent: Sent = { headers: forwardHeaders(req.headers, outcome.constraints.stripHeaders ?? []), path: forward.path + agentQuery(forward), body: bodyOf(req) };
  const rewrite = outcome.rewrite?.http;
  if (rewrite) applyHttpRewrite(sent, rewrite, { original: original.http!, decided: d, forward });
  return { origin: originOf(d), path: sent.path, method: d.method, headers: sent.headers, body: sent.body, timeoutMs: outcome.constraints.timeoutMs ?? forward.timeoutMs };
}

/** Where the agent's request goes on the upstream, and the deadline when the policy sets none. */
export interface ForwardPath {
  path: string;
  rawQuery: string;
  timeoutMs: number;
}

/** The parts of the upstream request a rewrite can change. */
interface Sent {
  headers: Record<string, string | string[]>;
  path: string;
  body: Buffer | string | undefined;
}

type Forward = Extract<Decided['outcome'], { kind: 'forward' }>;

function agentQuery(forward: ForwardPath): string {
  return forward.rawQuery ? '?' + forward.rawQuery : '';
}

/**
 * Sets what the rewrite names. A rewritten header whose value is what the
 * policy was shown stays as the agent sent it: the policy saw secrets hashed,
 * and copying a header through must not replace the secret with its hash.
 */
function applyHttpRewrite(sent: Sent, r: NonNullable<Rewrite['http']>, at: { original: HttpAction; decided: HttpAction; forward: ForwardPath }): void {
  for (const [k, v] of Object.entries(r.headers ?? {})) if (at.original.headers[k.toLowerCase()] !== v) sent.headers[k.toLowerCase()] = v;
  if (r.path !== undefined || r.query !== undefined) sent.path = rewrittenPath(r, at);
  if (r.body !== undefined) {
    sent.body = JSON.stringify(at.decided.body ?? null);
    sent.headers['content-type'] = 'application/json';
  }
}

/** A rewritten path is the decided action's (encoded by applyRewrite); one equal to the agent's keeps the agent's spelling. */
function rewrittenPath(r: NonNullable<Rewrite['http']>, at: { original: HttpAction; decided: HttpAction; forward: ForwardPath }): string {
  const path = r.path !== undefined && at.decided.rawPath !== at.original.rawPath ? at.decided.rawPath : at.forward.path;
  return path + (r.query !== undefined ? formatQuery(at.decided.query) : agentQuery(at.forward));
}

type RelayExtras = Pick<RelayPlan, 'extraMessages' | 'jsonRpc' | 'screenLine' | 'rewriteMessage' | 'screenMessage'>;

/** An upstream request, and what relaying its answer needs besides the policy's constraints. */
export interface Sending {
  request: UpstreamRequest;
  relay?: RelayExtras;
}

/**
 * Forwards an allowed call and relays the answer; resolves with what the agent
 * received. Throws on failure: carryOut ends the call with the error.
 */
export async function forwardAndRelay(ctx: ProxyContext, reply: FastifyReply, decided: Forwarding, sending: Sending): Promise<FinishInfo> {
  await presentCredentialFor(ctx, decided, sending.request);
  const res = await sendUpstream(ctx, decided, sending.request);
  return relayResponse(reply, res, { constraints: decided.outcome.constraints, bufferLimitBytes: ctx.config.bodyLimitBytes * 16, ...sending.relay });
}

/** Last, once the call is allowed: the credential is in this request only, never in what was decided or recorded. */
async function presentCredentialFor(ctx: ProxyContext, decided: Forwarding, request: UpstreamRequest): Promise<void> {
  try {
    const presented = await presentCredential(ctx.credentials, request, decided.tools);
    if (presented) ctx.logger?.debug({ decisionId: decided.decisionId, ...presented }, 'tool credential presented');
  } catch (e) {
    throw toPortcullisError(e);
  }
}

/** Sends the request under the call's client span; the span and the upstream metric end with the answer's head. */
async function sendUpstream(ctx: ProxyContext, decided: Forwarding, request: UpstreamRequest): Promise<UpstreamResponse> {
  const up = decided.trace.upstream(request.method, request);
  request.headers['traceparent'] = up.traceparent;
  const started = performance.now();
  const tool = decided.metricTool;
  try {
    const res = await ctx.upstream.request(request);
    ctx.metrics?.upstreamSeconds.observe({ tool, outcome: 'ok' }, (performance.now() - started) / 1000);
    up.end(res.statusCode);
    return res;
  } catch (e) {
    const err = toPortcullisError(e, ErrorCodes.UPSTREAM);
    ctx.metrics?.upstreamSeconds.observe({ tool, outcome: 'error' }, (performance.now() - started) / 1000);
    up.end(0, err.code);
    throw err;
  }
}

/** Forwards decided calls as one upstream request (a batch's messages end as the first does). */
export function forwardDecided(ctx: ProxyContext, reply: FastifyReply, decisions: readonly Decided[], sending: Sending): Promise<void> {
  return carryOut(reply, decisions, (call) => forwardAndRelay(ctx, reply, call, sending));
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
    return refuse(ctx, { req, reply }, e);
  }
  const action = built.action;
  if (target.kind === 'forward') action.tool = action.http!.host;
  else action.http!.rawPath = target.rawRest;
  const call = callInfo(req, reply, target.kind === 'forward' ? metricToolFor(action.http!, ctx.engine.current()?.tools) : undefined);
  const decided = await ctx.decider.decide(action, call);
  const forward = { path: built.forwardPath, rawQuery: built.rawQuery, timeoutMs: ctx.config.upstreamTimeoutMs };
  return carryOut(reply, [decided], (allowed) => forwardAndRelay(ctx, reply, allowed, { request: upstreamRequestFor(action, allowed.outcome, req, forward) }));
}
