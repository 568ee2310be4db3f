/**
 * One held call as the approval page shows it: everything a person needs to
 * decide, taken from the approval request (whose action is the policy input's,
 * so secrets are already hashed). Pure.
 */
import type { Action, AgentIdentity, HttpAction } from '../gate/types.ts';

export interface PageItem {
  /** What a verdict names: the local approval ID, or `NAMESPACE/NAME` of an ActionApproval. */
  id: string;
  /** The gate's approval ID, where `id` is another (an ActionApproval's name): what an MCP client's URL names. */
  requestId?: string;
  summary: string;
  tool: string;
  /** The MCP server, for an MCP call. */
  server?: string;
  /** The tool's arguments (MCP), or the request (HTTP): method, URL, query, headers, body. */
  arguments: unknown;
  agent: Pick<AgentIdentity, 'namespace' | 'pod' | 'serviceAccount'>;
  reason: string;
  approvers: string[];
  /** The digest of the policy that held the call, when known. */
  policyDigest?: string;
  inputHash: string;
  /** RFC 3339. */
  expiresAt: string;
}

export interface HeldCall {
  summary: string;
  action: Action;
  agent: Pick<AgentIdentity, 'namespace' | 'pod' | 'serviceAccount'>;
  approvers: string[];
  reason?: string;
  inputHash: string;
  expiresAt: string;
  policyDigest?: string;
}

function argumentsOf(action: Action): unknown {
  if (action.mcp) return action.mcp.arguments ?? action.mcp.params ?? {};
  return action.http ? httpRequestOf(action.http) : {};
}

function httpRequestOf(h: HttpAction): Record<string, unknown> {
  const port = (h.scheme === 'https' && h.port === 443) || (h.scheme === 'http' && h.port === 80) ? '' : `:${h.port}`;
  const host = h.host.includes(':') ? `[${h.host}]` : h.host;
  return {
    method: h.method,
    url: `${h.scheme}://${host}${port}${h.rawPath}`,
    ...(Object.keys(h.query).length ? { query: h.query } : {}),
    headers: h.headers,
    ...(h.body !== undefined ? { body: h.body } : h.bodySha256 ? { bodySha256: h.bodySha256 } : {}),
  };
}

export function pageItem(id: string, call: HeldCall, requestId?: string): PageItem {
  const a = call.action;
  return {
    id,
    ...(requestId && requestId !== id ? { requestId } : {}),
    summary: call.summary,
    tool: a.mcp?.name ?? a.tool,
    ...(a.mcp ? { server: a.mcp.server } : {}),
    arguments: argumentsOf(a),
    agent: { namespace: call.agent.namespace, pod: call.agent.pod, serviceAccount: call.agent.serviceAccount },
    reason: call.reason ?? '',
    approvers: call.approvers,
    ...(call.policyDigest ? { policyDigest: call.policyDigest } : {}),
    inputHash: call.inputHash,
    expiresAt: call.expiresAt,
  };
}
