/**
 * Tool definitions pinned against rug pulls: a catalog entry of an MCP
 * server may pin each tool's definition by the SHA-256 of the canonical JSON
 * (RFC 8785) of its `name`, `description`, `inputSchema` and `annotations`.
 * A server that changes a tool's description or schema after review (to
 * steer the agent, or to widen what a call does) then no longer matches: the
 * policy input says so, and listings hide the tool. Pure.
 */
import { canonicalJson } from '../evidence/canonical.ts';
import { sha256 } from '../evidence/hash.ts';
import type { ToolPin } from './types.ts';

/** The parts of a definition a pin covers. */
const PINNED_FIELDS = ['name', 'description', 'inputSchema', 'annotations'] as const;

/** `sha256:` of the canonical JSON of the pinned parts of a listed tool. */
export function toolDefinitionHash(tool: Record<string, unknown>): string {
  const pinned: Record<string, unknown> = {};
  for (const k of PINNED_FIELDS) if (tool[k] !== undefined) pinned[k] = tool[k];
  return sha256(canonicalJson(pinned));
}

/**
 * What the policy sees of a tool against the catalog's pins: `match`,
 * `changed` (listed with another definition), `unpinned` (the catalog pins
 * this server's tools but not this one), or `unlisted` (pinned, but the gate
 * has seen no listing of it to compare).
 */
export function toolPin(pins: Readonly<Record<string, string>>, name: string, listedHash: string | undefined): ToolPin {
  const pinned = pins[name];
  if (pinned === undefined) return { status: 'unpinned', ...(listedHash ? { hash: listedHash } : {}) };
  if (listedHash === undefined) return { status: 'unlisted', pinned };
  return { status: listedHash === pinned ? 'match' : 'changed', hash: listedHash, pinned };
}
