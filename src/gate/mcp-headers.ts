/**
 * The MCP HTTP headers that mirror the JSON-RPC body (MCP 2026-07-28,
 * Streamable HTTP): `Mcp-Method`, `Mcp-Name` and `MCP-Protocol-Version`. A
 * load balancer or the upstream may route on them, and the policy decides on
 * the body, so where they are present they must say what the body says: a
 * request whose headers and body disagree is refused, never decided on one
 * and forwarded with the other. Pure.
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { RawHeaders } from './headers.ts';
import type { JsonRpcMessage } from './mcp-action.ts';

export const MCP_METHOD_HEADER = 'mcp-method';
export const MCP_NAME_HEADER = 'mcp-name';
export const MCP_PROTOCOL_VERSION_HEADER = 'mcp-protocol-version';
export const MCP_SESSION_ID_HEADER = 'mcp-session-id';
export const MCP_PARAM_HEADER_PREFIX = 'mcp-param-';
/** The `_meta` key of a 2026-07-28 request that names its protocol version. */
export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';

/** The mirrored headers of one request, as sent (absent when not sent). */
export interface McpHeaderView {
  method?: string;
  name?: string;
  protocolVersion?: string;
}

/** Which body field `Mcp-Name` mirrors, per method (others: `params.name`, else `params.uri`). */
const NAME_SOURCE: Readonly<Record<string, string>> = Object.freeze({
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'resources/subscribe': 'uri',
  'resources/unsubscribe': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
});

function one(headers: RawHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  // A repeated header is two claims; joined, it can equal no single body value.
  return Array.isArray(v) ? v.join(', ') : v;
}

export function mcpHeaderView(headers: RawHeaders): McpHeaderView {
  const view: McpHeaderView = {};
  const method = one(headers, MCP_METHOD_HEADER);
  const name = one(headers, MCP_NAME_HEADER);
  const version = one(headers, MCP_PROTOCOL_VERSION_HEADER);
  if (method !== undefined) view.method = method;
  if (name !== undefined) view.name = name;
  if (version !== undefined) view.protocolVersion = version;
  return view;
}

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/**
 * A header value that may carry the specification's Base64 sentinel
 * (`=?base64?…?=`, for values HTTP cannot carry as they are); undefined when
 * the sentinel is malformed.
 */
export function decodeHeaderValue(value: string): string | undefined {
  const m = SENTINEL.exec(value);
  if (!m) return value;
  const b64 = m[1]!;
  const bytes = Buffer.from(b64, 'base64');
  // Only the canonical encoding: two spellings of one value are two values.
  if (bytes.toString('base64') !== b64) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** The header value for a name: plain when HTTP can carry it, the Base64 sentinel otherwise. */
export function encodeHeaderValue(value: string): string {
  if (/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !SENTINEL.test(value)) return value;
  return `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What `Mcp-Name` must say for a message, or undefined when the body names nothing. */
export function mirroredName(m: JsonRpcMessage): string | undefined {
  if (m.method === undefined || !isObject(m.params)) return undefined;
  const p = m.params;
  const field = NAME_SOURCE[m.method];
  const value = field !== undefined ? p[field] : typeof p.name === 'string' ? p.name : p.uri;
  return typeof value === 'string' ? value : undefined;
}

function metaVersion(m: JsonRpcMessage): string | undefined {
  if (!isObject(m.params) || !isObject(m.params._meta)) return undefined;
  const v = m.params._meta[PROTOCOL_VERSION_META];
  return typeof v === 'string' ? v : undefined;
}

function mismatch(header: string, sent: string, body: string, index: number): PortcullisError {
  return new PortcullisError(
    ErrorCodes.MCP_HEADER_MISMATCH,
    `the ${header} header says ${JSON.stringify(sent.slice(0, 200))} but the JSON-RPC body says ${body.slice(0, 200)}: send headers that mirror the body, or none`,
    { header, sent: sent.slice(0, 512), index },
  );
}

function checkMethod(view: McpHeaderView, m: JsonRpcMessage, index: number): void {
  if (view.method === undefined || view.method === m.method) return;
  throw mismatch('Mcp-Method', view.method, m.method === undefined ? 'a reply, which has no method' : `method ${JSON.stringify(m.method)}`, index);
}

function checkName(view: McpHeaderView, m: JsonRpcMessage, index: number): void {
  if (view.name === undefined) return;
  const decoded = decodeHeaderValue(view.name);
  if (decoded === undefined) throw mismatch('Mcp-Name', view.name, 'nothing a malformed Base64 sentinel could be compared with', index);
  const body = mirroredName(m);
  if (decoded !== body) throw mismatch('Mcp-Name', view.name, body === undefined ? 'no name' : `name ${JSON.stringify(body)}`, index);
}

/** A message that names no version in `params._meta` agrees with any header (2025 revisions name it in the header only). */
function checkVersion(view: McpHeaderView, m: JsonRpcMessage, index: number): void {
  if (view.protocolVersion === undefined) return;
  const version = metaVersion(m);
  if (version !== undefined && view.protocolVersion !== version) {
    throw mismatch('MCP-Protocol-Version', view.protocolVersion, `protocol version ${JSON.stringify(version)} in params._meta`, index);
  }
}

/**
 * Throws MCP_HEADER_MISMATCH unless every mirrored header that is present
 * agrees with every message of the body (a header stands for the whole
 * POST, so in a batch it must fit each message). Per message, the method is
 * checked first, then the name, then the version.
 */
export function checkHeadersAgree(view: McpHeaderView, messages: readonly JsonRpcMessage[]): void {
  messages.forEach((m, index) => {
    checkMethod(view, m, index);
    checkName(view, m, index);
    checkVersion(view, m, index);
  });
}
