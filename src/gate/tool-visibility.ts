/**
 * Tools the policy would never allow are hidden from `tools/list`: when the
 * bundle lists the entrypoint `portcullis/tool_visible`, the gate evaluates it
 * once per listed tool, with the input of the listing (`action.mcp.method =
 * "tools/list"`, `name`, and the tool's `definition`), and removes every tool
 * for which it is not `true`. A list the gate shortened is marked
 * uncacheable (MCP 2026-07-28 `ttlMs: 0`, `cacheScope: "private"`): another
 * agent may see another list. Pure.
 */
import type { AgentIdentity, McpAction, PolicyInput, ToolPin } from './types.ts';
import type { InputContext } from './input.ts';
import { buildPolicyInput } from './input.ts';

export const TOOL_VISIBLE_ENTRYPOINT = 'portcullis/tool_visible';

/** What the policy sees of a listed tool. */
export interface ToolDefinition {
  name: string;
  title?: unknown;
  description?: unknown;
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One tool of a `tools/list` answer: the server that listed it, its definition, and its pin when the catalog has one. */
export interface ListedTool {
  server: string;
  tool: ToolDefinition;
  pin?: ToolPin | undefined;
}

/** The input for deciding whether one listed tool is shown. */
export function toolListingInput(listed: ListedTool, agent: AgentIdentity, ctx: InputContext): PolicyInput {
  const { server, tool, pin } = listed;
  const definition: Record<string, unknown> = {};
  for (const k of ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const) if (tool[k] !== undefined) definition[k] = tool[k];
  const mcp: McpAction = { server, method: 'tools/list', name: tool.name, definition, ...(pin ? { pin } : {}) };
  return buildPolicyInput({ type: 'mcp', tool: tool.name, mcp }, agent, ctx);
}

/**
 * The JSON-RPC message with the hidden tools removed from its `tools/list`
 * result (`ids`: the ids of the tools/list requests of the exchange); other
 * messages, and results that are not a list of named tools, unchanged.
 */
export function filterToolListMessage(message: unknown, ids: ReadonlySet<string | number>, visible: (tool: ToolDefinition) => boolean): unknown {
  if (!isObject(message) || !('result' in message) || !ids.has(message.id as string | number)) return message;
  const result = message.result;
  if (!isObject(result) || !Array.isArray(result.tools)) return message;
  const tools = result.tools.filter((t: unknown) => isObject(t) && typeof t.name === 'string' && visible(t as unknown as ToolDefinition));
  if (tools.length === result.tools.length) return message;
  return { ...message, result: { ...result, tools, ttlMs: 0, cacheScope: 'private' } };
}
