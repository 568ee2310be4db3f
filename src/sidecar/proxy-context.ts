/** What every proxy handler shares: configuration, the decider, the upstream, and how to refuse. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SidecarConfig } from '../config/config.ts';
import type { PolicyEngine } from '../policy/types.ts';
import type { Action, HttpAction } from '../gate/types.ts';
import type { PortcullisError } from '../errors.ts';
import { errorBody, httpStatusFor, jsonRpcError, toPortcullisError } from '../gate/error-response.ts';
import { policyHeaders } from '../gate/headers.ts';
import type { Decider, CallInfo } from './decider.ts';
import type { Upstream } from './upstream.ts';
import type { ListedTools } from './listed-tools.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { CredentialStore } from './credentials.ts';

export interface ProxyContext {
  config: Readonly<SidecarConfig>;
  engine: PolicyEngine;
  decider: Decider;
  upstream: Upstream;
  logger?: Logger | undefined;
  metrics?: PortcullisMetrics | undefined;
  /** The tool credentials only the gate holds (credentials.ts). */
  credentials?: CredentialStore | undefined;
  /** The tool definitions MCP servers last listed, for pinned catalogs (listed-tools.ts); made on first use when absent. */
  listedTools?: ListedTools;
  /** The key of the requestState given to MCP clients for calls held for approval (mcp-approval.ts); made on first use. */
  requestStateKey?: Buffer;
}

/**
 * A call as the agent made it: its headers and, made on first use (a held
 * escalation), a signal aborted when the agent goes away. Most calls never
 * wait, and an AbortController per request, or an object literal with a
 * getter of its own, is a measurable share of the hot path.
 */
class AgentCall implements CallInfo {
  readonly headers: FastifyRequest['headers'];
  readonly metricTool?: string;
  readonly #reply: FastifyReply;
  #controller: AbortController | undefined;

  constructor(req: FastifyRequest, reply: FastifyReply, metricTool: string | undefined) {
    this.headers = req.headers;
    if (metricTool !== undefined) this.metricTool = metricTool;
    this.#reply = reply;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      const c = (this.#controller = new AbortController());
      const res = this.#reply.raw;
      if (res.closed || res.socket?.destroyed) c.abort(new Error('the agent disconnected'));
      // The response closes before it has finished only when the agent went away.
      else res.once('close', () => res.writableFinished || c.abort(new Error('the agent disconnected')));
    }
    return this.#controller.signal;
  }
}

export function callInfo(req: FastifyRequest, reply: FastifyReply, metricTool?: string): CallInfo {
  return new AgentCall(req, reply, metricTool);
}

/** The action recorded for a request that could not be parsed into a real one. */
export function stubAction(req: FastifyRequest, redact: readonly string[], tool = ''): Action {
  const url = req.originalUrl ?? req.url;
  // What the request showed before it was refused (method, target as sent, headers with secrets hashed): the record says what was refused.
  const http: HttpAction = { method: req.method, scheme: 'http', host: '', port: 0, path: '', rawPath: url.slice(0, 2048), query: {}, headers: policyHeaders(req.headers, redact) };
  const mcp = /^\/mcp\/([A-Za-z0-9._-]+)/.exec(url);
  if (mcp) return { type: 'mcp', tool: mcp[1]!, mcp: { server: mcp[1]!, method: '$invalid' }, http };
  return { type: 'http', tool, http };
}

/** Records the refusal as a decision, then answers with the error (JSON-RPC for MCP routes). */
export async function refuse(ctx: ProxyContext, exchange: { req: FastifyRequest; reply: FastifyReply }, err: unknown, action?: Action): Promise<void> {
  const { req, reply } = exchange;
  const e = toPortcullisError(err);
  const a = action ?? stubAction(req, ctx.config.redactHeaders);
  let refs: { decisionId?: string; traceId?: string } = {};
  try {
    refs = await ctx.decider.refuse(a, e, { headers: req.headers });
  } catch (recordError) {
    ctx.logger?.error({ err: recordError }, 'a refusal could not be recorded');
  }
  if (reply.sent) return;
  if (a.type === 'mcp') {
    await reply.code(httpStatusFor(e.code)).header('content-type', 'application/json').send(JSON.stringify(jsonRpcError(null, e, refs)));
    return;
  }
  await sendError(reply, e, refs);
}

export async function sendError(reply: FastifyReply, e: PortcullisError, refs: { decisionId?: string; traceId?: string }): Promise<void> {
  if (reply.sent) return;
  await reply.code(httpStatusFor(e.code)).header('content-type', 'application/json').send(JSON.stringify(errorBody(e, refs)));
}
