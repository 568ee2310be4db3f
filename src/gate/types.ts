/**
 * The contracts of the gate (design.md §2 and §3): what a policy sees
 * (`PolicyInput`) and what it answers (`Decision`). Everything here is plain
 * data; the gate's logic lives beside it in pure functions.
 */

export type ActionType = 'http' | 'mcp' | 'connect';
export type Mode = 'enforce' | 'observe';
export type Effect = 'allow' | 'deny' | 'escalate' | 'compute';

export interface HttpAction {
  method: string;
  scheme: 'http' | 'https';
  /** Lower-cased host name or IP literal (IPv6 without brackets). */
  host: string;
  port: number;
  /** Normalised path: percent-decoded, dot segments removed. */
  path: string;
  /** The path exactly as the agent sent it. */
  rawPath: string;
  query: Record<string, string[]>;
  /** Lower-cased names; redacted values are replaced by `sha256:<hex>`. */
  headers: Record<string, string>;
  /** Parsed JSON body when the body is JSON, otherwise absent. */
  body?: unknown;
  bodySha256?: string;
}

/** A called or listed tool's definition against the catalog's pins (tool-pin.ts). */
export interface ToolPin {
  status: 'match' | 'changed' | 'unpinned' | 'unlisted';
  /** `sha256:` of the definition as last listed by the server. */
  hash?: string;
  /** The catalog's pin. */
  pinned?: string;
}

export interface McpAction {
  server: string;
  method: string;
  /** Tool name for `tools/call`. */
  name?: string;
  arguments?: Record<string, unknown>;
  id?: string | number | null;
  /** The sub-path below the catalog endpoint (normalised), when the catalog entry opens sub-paths and the agent used one. */
  path?: string;
  /** The route's query (name → list of values), when the catalog entry opens queries and the agent sent one. */
  query?: Record<string, string[]>;
  /** The MCP revision the message speaks: `params._meta` (2026-07-28), `initialize`'s request, or the `MCP-Protocol-Version` header. */
  protocolVersion?: string;
  /** The client's `Implementation` (`name`, `version`, …), when the message carries it (2026-07-28 `_meta`, or `initialize`). */
  clientInfo?: Record<string, unknown>;
  /** The client's capabilities, when the message carries them. */
  clientCapabilities?: Record<string, unknown>;
  /** `Mcp-Session-Id` (2025 revisions with sessions). */
  sessionId?: string;
  /** `server` for a request the server sends to the client inside a response stream (sampling, elicitation, roots); absent for the agent's own messages. */
  from?: 'server';
  /** When the catalog entry pins tool definitions: the tool's (of a `tools/call`, or a listed one) against its pin. */
  pin?: ToolPin;
  /** A listed tool's definition (`title`, `description`, `inputSchema`, `outputSchema`, `annotations`), in the input of `portcullis/tool_visible`. */
  definition?: Record<string, unknown>;
  /** The params of a server request (without `_meta`). */
  params?: Record<string, unknown>;
  /** The MCP request headers, lower-case (`mcp-method`, `mcp-name`, `mcp-protocol-version`, `mcp-session-id`, `last-event-id`, `mcp-param-*`); absent when none was sent. */
  headers?: Record<string, string>;
}

export interface Action {
  type: ActionType;
  /** Catalog name of the tool, or the MCP tool name. */
  tool: string;
  http?: HttpAction;
  mcp?: McpAction;
}

export interface AgentIdentity {
  namespace: string;
  pod: string;
  serviceAccount: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface Approval {
  id: string;
  approver: string;
  verdict: 'approved' | 'rejected';
  inputHash: string;
  at: string;
}

export interface DecisionContext {
  /** RFC 3339. */
  time: string;
  mode: Mode;
  traceId: string;
  approval: Approval | null;
}

export interface PolicyInput {
  action: Action;
  agent: AgentIdentity;
  context: DecisionContext;
}

export interface Constraints {
  timeoutMs?: number;
  maxResponseBytes?: number;
  stripHeaders?: string[];
  /** JSONPath-like field paths (`$.a.b`, `$.items[*].secret`) removed from JSON responses. */
  redact?: string[];
}

export interface Rewrite {
  http?: Partial<Pick<HttpAction, 'method' | 'path' | 'query' | 'headers' | 'body' | 'host' | 'port' | 'scheme'>>;
  mcp?: { name?: string; arguments?: Record<string, unknown> };
}

export interface Escalation {
  approvers: string[];
  timeoutSeconds: number;
}

export interface Decision {
  effect: Effect;
  reason: string;
  constraints?: Constraints;
  rewrite?: Rewrite;
  escalation?: Escalation;
}

/** A held escalation waiting for a human (design.md §1, effect `escalate`). */
export interface ApprovalRequest {
  /** Stable ID a human uses: `portcullis approve ID`. */
  id: string;
  /** SHA-256 of the canonical policy input; an approval is bound to it. */
  inputHash: string;
  /** One line for humans: "mcp fs write_file /prod/config.yaml". */
  summary: string;
  action: Action;
  agent: AgentIdentity;
  approvers: string[];
  /** RFC 3339. */
  expiresAt: string;
  traceId: string;
  reason: string;
  /** Digest of the policy that held the call; the broker fills it in when the decider did not. */
  policyDigest?: string;
}

/**
 * Where escalations go: an in-process queue with an admin endpoint in local
 * mode, `ActionApproval` objects through the controller on Kubernetes.
 */
export interface ApprovalBroker {
  /**
   * Resolves with the human's verdict (approved or rejected). Rejects with
   * PortcullisError ESCALATION_TIMEOUT when `expiresAt` passes, and with the
   * signal's reason when aborted.
   */
  request(req: ApprovalRequest, signal?: AbortSignal): Promise<Approval>;
}
