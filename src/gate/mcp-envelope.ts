/**
 * What an MCP request says about its client, for the policy: the protocol
 * version, the client's name and capabilities, the session, and the MCP
 * headers. MCP 2026-07-28 carries version, client info and capabilities in
 * every request's `params._meta`; the 2025 revisions carry them in
 * `initialize` only, and later requests name the version in the
 * `MCP-Protocol-Version` header and the session in `Mcp-Session-Id`. The
 * gate keeps no session state: a 2025 request after `initialize` carries
 * the version and session it names, not the client info. Pure.
 */
import type { McpAction } from './types.ts';
import { policyHeaders, type RawHeaders } from './headers.ts';
import type { JsonRpcMessage } from './mcp-action.ts';
import { MCP_METHOD_HEADER, MCP_NAME_HEADER, MCP_PARAM_HEADER_PREFIX, MCP_PROTOCOL_VERSION_HEADER, MCP_SESSION_ID_HEADER, PROTOCOL_VERSION_META } from './mcp-headers.ts';

export const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';
export const CLIENT_CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';

/** Request headers the policy sees on MCP actions (with `mcp-param-*`); the rest belong to the transport. */
const MCP_HEADERS: ReadonlySet<string> = new Set([MCP_METHOD_HEADER, MCP_NAME_HEADER, MCP_PROTOCOL_VERSION_HEADER, MCP_SESSION_ID_HEADER, 'last-event-id']);

/** What one HTTP request contributes to each of its actions. */
export type McpRequestFacts = Pick<McpAction, 'sessionId' | 'headers' | 'protocolVersion'>;

/** What one message adds. */
export type McpMessageFacts = Pick<McpAction, 'protocolVersion' | 'clientInfo' | 'clientCapabilities'>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The allow-listed MCP headers (secrets in the redaction list hashed), the session and the header's version. */
export function mcpRequestFacts(headers: RawHeaders, redacted: readonly string[]): McpRequestFacts {
  const all = policyHeaders(headers, redacted);
  const mcp: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) if (MCP_HEADERS.has(k) || k.startsWith(MCP_PARAM_HEADER_PREFIX)) mcp[k] = v;
  const facts: McpRequestFacts = {};
  if (Object.keys(mcp).length > 0) facts.headers = mcp;
  const session = mcp[MCP_SESSION_ID_HEADER];
  if (session !== undefined) facts.sessionId = session;
  const version = mcp[MCP_PROTOCOL_VERSION_HEADER];
  if (version !== undefined) facts.protocolVersion = version;
  return facts;
}

/** Stands for absent `_meta` or non-`initialize` params: every key reads undefined. */
const NONE: Readonly<Record<string, unknown>> = Object.freeze(Object.create(null) as Record<string, unknown>);

/** The facts that have the type the policy input promises. */
function typedFacts(version: unknown, info: unknown, caps: unknown): McpMessageFacts {
  const facts: McpMessageFacts = {};
  if (typeof version === 'string') facts.protocolVersion = version;
  if (isObject(info)) facts.clientInfo = info;
  if (isObject(caps)) facts.clientCapabilities = caps;
  return facts;
}

/** Version, client info and capabilities from `params._meta` (2026-07-28) or from `initialize` (2025). */
export function mcpMessageFacts(m: JsonRpcMessage): McpMessageFacts {
  if (!isObject(m.params)) return {};
  const params = m.params;
  const meta = isObject(params._meta) ? params._meta : NONE;
  const initialize = m.method === 'initialize' ? params : NONE;
  return typedFacts(
    meta[PROTOCOL_VERSION_META] ?? initialize.protocolVersion,
    meta[CLIENT_INFO_META] ?? initialize.clientInfo,
    meta[CLIENT_CAPABILITIES_META] ?? initialize.capabilities,
  );
}

/**
 * The W3C trace context a message carries in `params._meta` (`traceparent`,
 * `tracestate`), as the OpenTelemetry MCP conventions propagate it; undefined
 * when it carries none.
 */
export function mcpMessageTrace(m: JsonRpcMessage): Record<string, string> | undefined {
  const meta = isObject(m.params) && isObject(m.params._meta) ? m.params._meta : undefined;
  if (!meta || typeof meta.traceparent !== 'string') return undefined;
  return { traceparent: meta.traceparent, ...(typeof meta.tracestate === 'string' ? { tracestate: meta.tracestate } : {}) };
}
