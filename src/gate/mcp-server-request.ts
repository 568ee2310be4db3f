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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A JSON-RPC request with an id (what a server asks the client); undefined for anything else. */
function asServerRequest(value: unknown): ServerRequest | undefined {
  if (!isObject(value) || value.jsonrpc !== '2.0' || typeof value.method !== 'string') return undefined;
  const id = value.id;
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  return { id, method: value.method, ...(isObject(value.params) ? { params: value.params } : {}) };
}

/** The server request carried by one SSE line (`data: {…}`), or undefined for anything else. */
export function serverRequestOf(line: string): ServerRequest | undefined {
  if (!line.startsWith('data:')) return undefined;
  const text = line.slice(5).replace(/\r$/, '');
  // Cheap test first: most events are results and notifications.
  if (!text.includes('"method"') || !text.includes('"id"')) return undefined;
  return asServerRequest(parseJson(text));
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

/** One input request, asked as a server request whose id is its key. */
function asInputRequest(key: string, r: unknown): ServerRequest {
  // A request the gate cannot read is asked as an unnamed method: a policy that allows by name refuses it.
  if (!isObject(r)) return { id: key, method: '$invalid' };
  return { id: key, method: typeof r.method === 'string' ? r.method : '$invalid', ...(isObject(r.params) ? { params: r.params } : {}) };
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
  const requests = isObject(inputRequests) ? Object.entries(inputRequests).map(([key, r]) => asInputRequest(key, r)) : [];
  return { id, requests };
}
