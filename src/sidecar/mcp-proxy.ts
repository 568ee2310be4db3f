/**
 * MCP over Streamable HTTP on `/mcp/<server>/…`. Every JSON-RPC message is an
 * action with its own decision: in a batch, a denied call gets its own
 * JSON-RPC error while the allowed ones go upstream; computed calls go with
 * their rewritten name and arguments. GET (the server's SSE stream) and
 * DELETE (end of session) are actions too, with methods `$sse` and `$delete`.
 * Headers that mirror the body (`Mcp-Method`, `Mcp-Name`) must agree with it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Action, Constraints, McpAction, ToolPin } from '../gate/types.ts';
import { parseQuery } from '../gate/path.ts';
import { buildMcpAction, expectsReply, parseJsonRpc, rewriteMessage, type JsonRpcMessage } from '../gate/mcp-action.ts';
import { forwardHeaders } from '../gate/headers.ts';
import { mcpMessageTrace, mcpRequestFacts } from '../gate/mcp-envelope.ts';
import { isLocalOrigin } from '../gate/mcp-origin.ts';
import { approvalRequired, approvalRound, stripApprovalRound, type ApprovalRound } from './mcp-approval.ts';
import { buildServerRequestAction, inputRequestsOf, serverRequestOf, type ServerRequest } from '../gate/mcp-server-request.ts';
import { filterToolListMessage, TOOL_VISIBLE_ENTRYPOINT } from '../gate/tool-visibility.ts';
import { toolDefinitionHash, toolPin } from '../gate/tool-pin.ts';
import { ListedTools } from './listed-tools.ts';
import { checkHeadersAgree, encodeHeaderValue, mcpHeaderView, mirroredName, MCP_METHOD_HEADER, MCP_NAME_HEADER, MCP_PARAM_HEADER_PREFIX } from '../gate/mcp-headers.ts';
import { checkParamHeadersAgree, mirroredArgument, paramHeaderDeclarations, type ParamHeaderDeclaration } from '../gate/mcp-param-headers.ts';
import { normaliseAuthority, formatAuthority } from '../gate/host.ts';
import { jsonRpcError, toPortcullisError } from '../gate/error-response.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { callInfo, refuse, sendError, type ProxyContext } from './proxy-context.ts';
import { forwardAndRelay, forwardDecided } from './http-proxy.ts';
import { carryOut } from './carry-out.ts';
import type { CallInfo, Decided } from './decider.ts';
import type { NamedTarget } from './routes.ts';

export const MCP_STREAM_METHOD = '$sse';
export const MCP_DELETE_METHOD = '$delete';

/** The tightest of several calls' constraints: they share one upstream exchange. */
export function mergeConstraints(list: Constraints[]): Constraints {
  const out: Constraints = {};
  const min = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
  for (const c of list) {
    const t = min(out.timeoutMs, c.timeoutMs);
    if (t !== undefined) out.timeoutMs = t;
    const m = min(out.maxResponseBytes, c.maxResponseBytes);
    if (m !== undefined) out.maxResponseBytes = m;
    if (c.stripHeaders) out.stripHeaders = [...new Set([...(out.stripHeaders ?? []), ...c.stripHeaders])];
    if (c.redact) out.redact = [...new Set([...(out.redact ?? []), ...c.redact])];
  }
  return out;
}

/** What the route adds to every action of the request: the sub-path and query the catalog opened. */
function routeParts(target: NamedTarget): Pick<McpAction, 'path' | 'query'> {
  const out: Pick<McpAction, 'path' | 'query'> = {};
  if (target.rest !== '/') out.path = target.rest;
  if (target.rawQuery !== '') out.query = parseQuery(target.rawQuery);
  return out;
}

/**
 * The mirrored headers follow a rewrite, so what goes upstream still agrees
 * with itself (an intermediary routes on them): `Mcp-Name` takes the
 * rewritten tool name, each `Mcp-Param-*` the rewritten argument it mirrors.
 * A header that can no longer say what the body says (forwarded calls that
 * disagree, an argument the rewrite removed) is dropped rather than left
 * stale.
 */
function followRewrite(headers: Record<string, string | string[]>, forwarded: readonly JsonRpcMessage[], declarationsOf: (tool: string) => readonly ParamHeaderDeclaration[] | undefined): void {
  if (headers[MCP_NAME_HEADER] !== undefined) {
    const names = new Set(forwarded.map(mirroredName));
    const [name] = names;
    if (names.size === 1 && name !== undefined) headers[MCP_NAME_HEADER] = encodeHeaderValue(name);
    else delete headers[MCP_NAME_HEADER];
  }
  for (const key of Object.keys(headers)) {
    if (!key.toLowerCase().startsWith(MCP_PARAM_HEADER_PREFIX)) continue;
    const values = new Set(forwarded.map((m) => mirroredArgument(m, key.toLowerCase(), declarationsOf)));
    const [value] = values;
    if (values.size === 1 && value !== undefined) headers[key] = encodeHeaderValue(value);
    else delete headers[key];
  }
}

/** The call as one message sees it: its own trace context, when it carries one, continues the agent's trace. */
function messageCall(call: CallInfo, m: JsonRpcMessage, round: ApprovalRound): CallInfo {
  const messageTrace = mcpMessageTrace(m);
  if (!messageTrace && !round.deferEscalation && round.resumeApproval === undefined) return call;
  return {
    headers: call.headers,
    ...(call.metricTool !== undefined ? { metricTool: call.metricTool } : {}),
    // Shared, and still made on first use only.
    get signal(): AbortSignal | undefined {
      return call.signal;
    },
    ...(messageTrace ? { messageTrace } : {}),
    ...(round.deferEscalation ? { deferEscalation: true } : {}),
    ...(round.resumeApproval !== undefined ? { resumeApproval: round.resumeApproval } : {}),
  };
}

/**
 * Decides what the server asks of the client while a call runs. On a 2025
 * SSE stream: each request the server sends (sampling, elicitation, roots);
 * an allowed one goes on to the agent, a denied one is dropped from the
 * stream and answered to the server on the agent's behalf with the JSON-RPC
 * error, so the server does not wait for a reply that cannot come. In a
 * 2026-07-28 `InputRequiredResult`: each of its `inputRequests`; when one is
 * denied the whole result becomes that JSON-RPC error, since the client could
 * not answer it and the call cannot complete.
 */
class ServerAsks {
  readonly ctx: ProxyContext;
  readonly req: FastifyRequest;
  readonly target: NamedTarget;
  readonly call: CallInfo;
  /** The headers the agent's request went upstream with: a refusal goes back in the same session. */
  readonly headers: Record<string, string | string[]>;
  #facts: ReturnType<typeof mcpRequestFacts> | undefined;

  constructor(ctx: ProxyContext, at: { req: FastifyRequest; target: NamedTarget; call: CallInfo; headers: Record<string, string | string[]> }) {
    this.ctx = ctx;
    this.req = at.req;
    this.target = at.target;
    this.call = at.call;
    this.headers = at.headers;
  }

  /** The decided request's error, or undefined when it may go to the agent. */
  async #decide(request: ServerRequest): Promise<{ error: PortcullisError; refs: { decisionId: string; traceId: string }; finish: Decided['finish'] } | undefined> {
    // The session and revision of the stream; not the agent's request headers, which name the agent's call.
    this.#facts ??= sessionAndVersion(mcpRequestFacts(this.req.headers, this.ctx.config.redactHeaders));
    const decided = await this.ctx.decider.decide(buildServerRequestAction(this.target.tool.name, request, this.#facts), this.call);
    if (decided.outcome.kind === 'forward') {
      decided.finish({ status: 200, bytes: 0 });
      return undefined;
    }
    return { error: decided.outcome.error, refs: { decisionId: decided.decisionId, traceId: decided.traceId }, finish: decided.finish };
  }

  /** For a 2025 SSE stream: the line to pass on, or null. */
  readonly line = async (line: string): Promise<string | null> => {
    const request = serverRequestOf(line);
    if (request) {
      const denied = await this.#decide(request);
      if (!denied) return line;
      const answered = await answerServer(this.ctx, this.target, this.headers, JSON.stringify(jsonRpcError(request.id, denied.error, denied.refs)));
      denied.finish({ status: answered, bytes: 0, errorCode: denied.error.code });
      return null;
    }
    if (!line.startsWith('data:') || !line.includes('"input_required"')) return line;
    let message: unknown;
    try {
      message = JSON.parse(line.slice(5));
    } catch {
      return line;
    }
    const screened = await this.message(message);
    return screened === message ? line : 'data: ' + JSON.stringify(screened);
  };

  /** For a JSON-RPC message: itself, or the error that replaces an input-required result. */
  readonly message = async (message: unknown): Promise<unknown> => {
    const asked = inputRequestsOf(message);
    if (!asked) return message;
    for (const request of asked.requests) {
      const denied = await this.#decide(request);
      if (!denied) continue;
      denied.finish({ status: 0, bytes: 0, errorCode: denied.error.code });
      return jsonRpcError(asked.id, denied.error, denied.refs);
    }
    return message;
  };
}

/**
 * Removes hidden tools from the `tools/list` results of the exchange: those
 * `portcullis/tool_visible` does not show, when the bundle has it, or else,
 * when the catalog pins the server's tools, those whose definition does not
 * match its pin. Every listed definition of a pinned server is remembered,
 * for the pins of later calls. Observe mode hides nothing.
 */
function toolListFilter(ctx: ProxyContext, target: NamedTarget, forwarded: readonly JsonRpcMessage[], traceId: string): ((message: unknown) => unknown) | undefined {
  const ids = new Set<string | number>();
  for (const m of forwarded) if (m.method === 'tools/list' && m.id !== undefined && m.id !== null) ids.add(m.id);
  const server = target.tool.name;
  const pins = target.tool.pins;
  const decides = ctx.engine.current()?.entrypoints.includes(TOOL_VISIBLE_ENTRYPOINT) ?? false;
  if (ids.size === 0) return undefined;
  const listed = (ctx.listedTools ??= new ListedTools());
  const observe = ctx.decider.mode === 'observe';
  return (message) =>
    filterToolListMessage(message, ids, (tool) => {
      // What each tool's Mcp-Param-* headers mirror, for the calls that send them.
      listed.recordParamHeaders(server, tool.name, paramHeaderDeclarations((tool as { inputSchema?: unknown }).inputSchema));
      if (!decides && !pins) return true;
      let pin: ToolPin | undefined;
      if (pins) {
        const hash = toolDefinitionHash(tool as unknown as Record<string, unknown>);
        listed.record(server, tool.name, hash);
        pin = toolPin(pins, tool.name, hash);
      }
      if (observe) return true;
      if (decides) return ctx.decider.toolVisible(server, tool, traceId, pin);
      return pin?.status === 'match';
    });
}

/** A tools/call to a server whose tools the catalog pins carries its tool's pin. */
function withPin(ctx: ProxyContext, target: NamedTarget, action: Action): Action {
  const pins = target.tool.pins;
  const mcp = action.mcp;
  if (!pins || mcp?.method !== 'tools/call' || mcp.name === undefined) return action;
  return { ...action, mcp: { ...mcp, pin: toolPin(pins, mcp.name, ctx.listedTools?.hash(target.tool.name, mcp.name)) } };
}

/** 2026-07-28 results may ask for input; earlier revisions ask on the stream only. */
function mayAskForInput(actions: readonly Action[]): boolean {
  return actions.some((a) => (a.mcp?.protocolVersion ?? '') >= '2026-07-28');
}

function sessionAndVersion(facts: ReturnType<typeof mcpRequestFacts>): ReturnType<typeof mcpRequestFacts> {
  return {
    ...(facts.sessionId !== undefined ? { sessionId: facts.sessionId } : {}),
    ...(facts.protocolVersion !== undefined ? { protocolVersion: facts.protocolVersion } : {}),
  };
}

/** POSTs the agent's side's reply to the server; resolves with the server's status (0 when it could not be sent). */
async function answerServer(ctx: ProxyContext, target: NamedTarget, forwarded: Record<string, string | string[]>, body: string): Promise<number> {
  const headers: Record<string, string | string[]> = { ...forwarded, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  // A reply has no method and no name to mirror.
  delete headers[MCP_NAME_HEADER];
  delete headers[MCP_METHOD_HEADER];
  try {
    const res = await ctx.upstream.request({ origin: origin(target), path: target.target, method: 'POST', headers, body, timeoutMs: ctx.config.upstreamTimeoutMs });
    await res.body.dump();
    return res.statusCode;
  } catch (e) {
    ctx.logger?.warn({ err: e, server: target.tool.name }, 'the refusal of a server request could not be sent to the server');
    return 0;
  }
}

function origin(target: NamedTarget): string {
  const { host, port } = normaliseAuthority(target.authority, target.scheme);
  return `${target.scheme}://${formatAuthority(host, port)}`;
}

function withRoute(action: Action, route: Pick<McpAction, 'path' | 'query'>): Action {
  if (route.path === undefined && route.query === undefined) return action;
  return { ...action, mcp: { ...action.mcp!, ...route } };
}

async function handleStreamOrDelete(ctx: ProxyContext, req: FastifyRequest, reply: FastifyReply, target: NamedTarget): Promise<void> {
  const server = target.tool.name;
  const method = req.method === 'GET' ? MCP_STREAM_METHOD : MCP_DELETE_METHOD;
  const action: Action = { type: 'mcp', tool: server, mcp: { server, method, ...mcpRequestFacts(req.headers, ctx.config.redactHeaders), ...routeParts(target) } };
  const call = callInfo(req, reply);
  const decided = await ctx.decider.decide(action, call);
  return carryOut(reply, [decided], (allowed) => {
    const { constraints } = allowed.outcome;
    const headers = forwardHeaders(req.headers, constraints.stripHeaders);
    const timeoutMs = constraints.timeoutMs ?? ctx.config.upstreamTimeoutMs;
    const asks = new ServerAsks(ctx, { req, target, call, headers });
    return forwardAndRelay(ctx, reply, allowed, { request: { origin: origin(target), path: target.target, method: req.method, headers, timeoutMs, stream: req.method === 'GET' }, relay: { screenLine: asks.line } });
  });
}

export async function handleMcp(ctx: ProxyContext, req: FastifyRequest, reply: FastifyReply, target: NamedTarget): Promise<void> {
  if (!isLocalOrigin(req.headers.origin)) {
    const origin = String(req.headers.origin).slice(0, 200);
    return refuse(ctx, { req, reply }, new PortcullisError(ErrorCodes.MCP_ORIGIN_REFUSED, `MCP requests from a web page of another origin (${origin}) are refused: the gate answers local agents only, and a page must not reach it by DNS rebinding`, { origin }));
  }
  if (req.method === 'GET' || req.method === 'DELETE') return handleStreamOrDelete(ctx, req, reply, target);
  if (req.method !== 'POST') {
    return refuse(ctx, { req, reply }, new PortcullisError(ErrorCodes.BAD_REQUEST, `MCP Streamable HTTP uses POST, GET and DELETE, not ${req.method}`));
  }
  return handlePost(ctx, { req, reply, target });
}

/** One POST to the MCP route: its transport parts, and (once read) its messages and their actions. */
interface McpPost {
  req: FastifyRequest;
  reply: FastifyReply;
  target: NamedTarget;
}

interface ReadPost {
  raw: Buffer;
  messages: JsonRpcMessage[];
  batch: boolean;
  actions: Action[];
  rounds: ApprovalRound[];
}

/**
 * A message or a batch: read and checked (each failure refused and recorded),
 * every message decided, then the allowed ones forwarded as one request and
 * the refused ones answered with errors beside the upstream's answer.
 */
async function handlePost(ctx: ProxyContext, post: McpPost): Promise<void> {
  const { req, reply } = post;
  let read: ReadPost;
  try {
    read = readPost(ctx, post);
  } catch (e) {
    return e instanceof PostRefused ? refuse(ctx, { req, reply }, e.error, e.action) : refuse(ctx, { req, reply }, e);
  }
  // Counted under the catalog server: the MCP tool name is the agent's to choose.
  const call = callInfo(req, reply, post.target.tool.name);
  const settled = await Promise.allSettled(read.actions.map((a, i) => ctx.decider.decide(a, messageCall(call, read.messages[i]!, read.rounds[i]!))));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const decisions = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    // The batch is refused as a whole: the siblings already decided (and
    // recorded) get their outcome, saying why nothing was sent.
    const err = toPortcullisError(failed.reason);
    for (const d of decisions) d.finish({ status: 0, bytes: 0, errorCode: err.code });
    return refuse(ctx, { req, reply }, err);
  }
  const sorted = sortDecisions(ctx, read, decisions);
  if (sorted.forwarding.length === 0) return answerRefused(reply, sorted, read.batch);
  return forwardBatch(ctx, post, { read, sorted, call });
}

/** A request refused after its body was read: recorded as the call the body makes, so the refusal says what was refused. */
class PostRefused {
  constructor(
    readonly error: unknown,
    readonly action: Action | undefined,
  ) {}
}

function readPost(ctx: ProxyContext, post: McpPost): ReadPost {
  const { req, target } = post;
  const server = target.tool.name;
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const { messages, batch } = parseJsonRpc(raw.toString('utf8'));
  const facts = mcpRequestFacts(req.headers, ctx.config.redactHeaders);
  const route = routeParts(target);
  const actions = messages.map((m) => withPin(ctx, target, withRoute(buildMcpAction(server, m, facts), route)));
  try {
    checkHeadersAgree(mcpHeaderView(req.headers), messages);
    checkParamHeadersAgree(req.headers, messages, (tool) => ctx.listedTools?.paramHeaders(server, tool));
    const rounds = actions.map((a, i) => approvalRound(ctx, messages[i]!, a, !batch));
    return { raw, messages, batch, actions, rounds };
  } catch (e) {
    throw new PostRefused(e, actions[0]);
  }
}

/** The decisions of a post, sorted: the messages to forward (rewritten where the policy rewrote them) and the errors that answer the rest. */
interface Sorted {
  forwarded: JsonRpcMessage[];
  forwarding: Decided[];
  errors: unknown[];
  firstDenial: Decided | undefined;
  /** The body must be serialised again: a message was rewritten or had its approval round stripped. */
  rewritten: boolean;
}

function sortDecisions(ctx: ProxyContext, read: ReadPost, decisions: Decided[]): Sorted {
  const sorted: Sorted = { forwarded: [], forwarding: [], errors: [], firstDenial: undefined, rewritten: false };
  decisions.forEach((d, i) => {
    const m = read.messages[i]!;
    if (d.outcome.kind === 'forward') {
      const strip = read.rounds[i]!.strip === true;
      sorted.rewritten ||= d.outcome.rewrite !== undefined || strip;
      const sent = strip ? stripApprovalRound(m) : m;
      sorted.forwarded.push(d.outcome.rewrite ? rewriteMessage(sent, d.outcome.action) : sent);
      sorted.forwarding.push(d);
      return;
    }
    sorted.firstDenial ??= d;
    d.finish({ status: 0, bytes: 0, errorCode: d.outcome.error.code });
    const error = refusalAnswer(ctx, m, read.actions[i]!, d);
    if (error !== undefined) sorted.errors.push(error);
  });
  return sorted;
}

/** A call waiting for approval is answered with where to approve it, for the client to retry; a request with an id gets its error; a notification nothing. */
function refusalAnswer(ctx: ProxyContext, m: JsonRpcMessage, action: Action, d: Decided): unknown {
  if (d.outcome.kind !== 'deny') return undefined;
  const waiting = approvalRequired(ctx, m, action, d.outcome.error);
  if (waiting) return waiting;
  return expectsReply(m) ? jsonRpcError(m.id, d.outcome.error, { decisionId: d.decisionId, traceId: d.traceId }) : undefined;
}

/** Nothing to forward: the errors as the answer, or the first refusal as an HTTP error when no message wants an answer. */
function answerRefused(reply: FastifyReply, sorted: Sorted, batch: boolean): Promise<void> | FastifyReply {
  const d = sorted.firstDenial!;
  if (sorted.errors.length === 0 && d.outcome.kind === 'deny') return sendError(reply, d.outcome.error, { decisionId: d.decisionId, traceId: d.traceId });
  return reply.code(200).header('content-type', 'application/json').send(JSON.stringify(batch ? sorted.errors : sorted.errors[0]));
}

/** The allowed messages as one upstream request, under the strictest of their constraints; the errors ride along in the answer. */
function forwardBatch(ctx: ProxyContext, post: McpPost, at: { read: ReadPost; sorted: Sorted; call: CallInfo }): Promise<void> {
  const { req, reply, target } = post;
  const { read, sorted } = at;
  const constraints = mergeConstraints(sorted.forwarding.map((d) => (d.outcome.kind === 'forward' ? d.outcome.constraints : {})));
  // Unchanged calls go as the agent sent them, byte for byte.
  const body = !sorted.rewritten && sorted.forwarded.length === read.messages.length ? read.raw : JSON.stringify(read.batch ? sorted.forwarded : sorted.forwarded[0]);
  const headers = forwardHeaders(req.headers, constraints.stripHeaders);
  if (sorted.rewritten) followRewrite(headers, sorted.forwarded, (tool) => ctx.listedTools?.paramHeaders(target.tool.name, tool));
  const [lead, ...rest] = sorted.forwarding;
  const leadOutcome = { ...lead!, outcome: { ...(lead!.outcome as Extract<Decided['outcome'], { kind: 'forward' }>), constraints } };
  const asks = new ServerAsks(ctx, { req, target, call: at.call, headers });
  const hideTools = toolListFilter(ctx, target, sorted.forwarded, lead!.traceId);
  return forwardDecided(ctx, reply, [leadOutcome, ...rest], {
    request: { origin: origin(target), path: target.target, method: 'POST', headers, body, timeoutMs: constraints.timeoutMs ?? ctx.config.upstreamTimeoutMs },
    relay: {
      extraMessages: sorted.errors,
      jsonRpc: true,
      screenLine: asks.line,
      ...(hideTools ? { rewriteMessage: hideTools } : {}),
      ...(mayAskForInput(read.actions) ? { screenMessage: asks.message } : {}),
    },
  });
}
