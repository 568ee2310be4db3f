/**
 * Requests an MCP server sends to the client inside a response stream
 * (2025 revisions: `sampling/createMessage`, `elicitation/create`,
 * `roots/list`, `ping`, on the SSE stream of a call or of `$sse`). Each is an
 * action of its own, `from: "server"`: the server asks the agent's side to act
 * (run its model, ask its user, show its roots), so the policy decides
 * whether the request reaches the agent. Notifications and replies pass as
 * part of the stream they belong to. Pure.
 */
import type { Action, McpAction } from './types.ts';
import type { JsonRpcId } from './mcp-action.ts';
import type { McpRequestFacts } from './mcp-envelope.ts';

export interface ServerRequest {
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The server request carried by one SSE line (`data: {…}`), or undefined for anything else. */
export function serverRequestOf(line: string): ServerRequest | undefined {
  if (!line.startsWith('data:')) return undefined;
  const text = line.slice(5).replace(/\r$/, '');
  // Cheap test first: most events are results and notifications.
  if (!text.includes('"method"') || !text.includes('"id"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.jsonrpc !== '2.0' || typeof value.method !== 'string') return undefined;
  const id = value.id;
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  return { id, method: value.method, ...(isObject(value.params) ? { params: value.params } : {}) };
}

/** The action of a server request; `params` without `_meta`, which is transport detail. */
export function buildServerRequestAction(server: string, r: ServerRequest, request: McpRequestFacts = {}): Action {
  const mcp: McpAction = { server, method: r.method, id: r.id, from: 'server', ...request };
  if (r.params) {
    const { _meta: _ignored, ...params } = r.params;
    mcp.params = params;
  }
  return { type: 'mcp', tool: server, mcp };
}

/**
 * The input requests of an MCP 2026-07-28 `InputRequiredResult` (multi
 * round-trip requests: the server asks the client for sampling, elicitation
 * or roots inside the result of a call, and the client retries the call with
 * the answers), each as a server request whose id is its key; undefined for
 * any other message.
 */
export function inputRequestsOf(message: unknown): { id: JsonRpcId; requests: ServerRequest[] } | undefined {
  if (!isObject(message) || !isObject(message.result) || message.result.resultType !== 'input_required') return undefined;
  const id = message.id;
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  const inputRequests = message.result.inputRequests;
  if (!isObject(inputRequests)) return { id, requests: [] };
  const requests: ServerRequest[] = [];
  for (const [key, r] of Object.entries(inputRequests)) {
    // A request the gate cannot read is asked as an unnamed method: a policy that allows by name refuses it.
    const method = isObject(r) && typeof r.method === 'string' ? r.method : '$invalid';
    requests.push({ id: key, method, ...(isObject(r) && isObject(r.params) ? { params: r.params } : {}) });
  }
  return { id, requests };
}
