/**
 * MCP JSON-RPC messages → `mcp` actions (design.md §1 step 2). A batch is one
 * action per message, so each call is decided on its own; every method is an
 * action (`initialize`, `tools/list`, notifications), so a policy allows them
 * explicitly.
 */
import type { Action, McpAction } from './types.ts';
import { PortcullisError, ErrorCodes } from '../errors.ts';
import { parseStrictJson } from './strict-json.ts';
import { mcpMessageFacts, type McpRequestFacts } from './mcp-envelope.ts';

export type JsonRpcId = string | number | null;

export interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: JsonRpcId;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export interface ParsedJsonRpc {
  batch: boolean;
  messages: JsonRpcMessage[];
}

/** Method name given to a client's reply to a server request (it has no method). */
export const RESPONSE_METHOD = '$response';

function bad(why: string, details?: Record<string, unknown>): PortcullisError {
  return new PortcullisError(ErrorCodes.BAD_JSONRPC, `MCP request is not valid JSON-RPC 2.0: ${why}`, details);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isValidId(id: unknown): boolean {
  return id === undefined || id === null || typeof id === 'string' || typeof id === 'number';
}

/** A request or notification names a method (and may have params); a reply carries a result or an error. */
function checkRequestOrReply(m: Record<string, unknown>, index: number): void {
  if (m.method === undefined) {
    if (!('result' in m) && !('error' in m)) throw bad('a message needs "method", or "result"/"error" for a reply', { index });
    return;
  }
  if (typeof m.method !== 'string' || m.method === '') throw bad('"method" must be a non-empty string', { index });
  if (m.params !== undefined && typeof m.params !== 'object') throw bad('"params" must be an object or an array', { index });
}

function validateMessage(m: unknown, index: number): JsonRpcMessage {
  if (!isObject(m)) throw bad('each message must be an object', { index });
  if (m.jsonrpc !== '2.0') throw bad('"jsonrpc" must be "2.0"', { index });
  if (!isValidId(m.id)) throw bad('"id" must be a string, a number or null', { index });
  checkRequestOrReply(m, index);
  return m as unknown as JsonRpcMessage;
}

/** Parses a POST body; throws BAD_REQUEST / JSON_DUPLICATE_KEY / BAD_JSONRPC. */
export function parseJsonRpc(text: string): ParsedJsonRpc {
  const value = parseStrictJson(text);
  if (Array.isArray(value)) {
    if (value.length === 0) throw bad('an empty batch');
    return { batch: true, messages: value.map(validateMessage) };
  }
  return { batch: false, messages: [validateMessage(value, 0)] };
}

/** True when a message expects a reply (a request with an id). */
export function expectsReply(m: JsonRpcMessage): boolean {
  return m.method !== undefined && m.id !== undefined;
}

/** Puts the tool name and arguments of a `tools/call` on its action; returns the tool name. */
function addToolCall(mcp: McpAction, m: JsonRpcMessage): string {
  const params = isObject(m.params) ? m.params : {};
  if (typeof params.name !== 'string' || params.name === '') throw bad('"tools/call" needs params.name', { id: m.id });
  if (params.arguments !== undefined && !isObject(params.arguments)) throw bad('"tools/call" params.arguments must be an object');
  mcp.name = params.name;
  mcp.arguments = (params.arguments as Record<string, unknown> | undefined) ?? {};
  return params.name;
}

/** `request`: what the HTTP request adds to each of its messages (mcp-envelope.ts). */
export function buildMcpAction(server: string, m: JsonRpcMessage, request: McpRequestFacts = {}): Action {
  const method = m.method ?? RESPONSE_METHOD;
  const mcp: McpAction = { server, method, ...request, ...mcpMessageFacts(m) };
  if (m.id !== undefined) mcp.id = m.id;
  const tool = method === 'tools/call' ? addToolCall(mcp, m) : server;
  return { type: 'mcp', tool, mcp };
}

/** The message with a compute rewrite applied (tool name and arguments only). */
export function rewriteMessage(m: JsonRpcMessage, action: Action): JsonRpcMessage {
  if (m.method !== 'tools/call' || !action.mcp) return m;
  const params = isObject(m.params) ? { ...m.params } : {};
  params.name = action.mcp.name;
  params.arguments = action.mcp.arguments;
  return { ...m, params };
}
