/**
 * The `tool` label of the decision and upstream metrics. For named routes it
 * is the catalog name already. A forward-proxy call (or a CONNECT tunnel) is
 * named by its host in the policy input, logs and spans, but a host is chosen
 * by the agent and a label per host would grow without bound: the metrics
 * take the catalog name of the tool the call reaches, or `external`.
 */
import type { HttpAction } from '../gate/types.ts';
import type { ToolEntry } from '../policy/types.ts';

/** The label of every forward-proxy call that reaches no catalog tool. */
export const EXTERNAL_TOOL = 'external';

/**
 * The label of any other name that is not in the catalog: an MCP tool name
 * or a route the agent made up is chosen by the agent, and one label per
 * name would let a stream of refused calls grow the registry without bound.
 */
export const OTHER_TOOL = 'other';

/**
 * Bounds a metrics label: catalog names, EXTERNAL_TOOL and the empty name of
 * a request refused before it had a target stay; anything else is OTHER_TOOL.
 */
export function boundedMetricTool(name: string, tools: readonly ToolEntry[] | undefined): string {
  if (name === '' || name === EXTERNAL_TOOL || name === OTHER_TOOL) return name;
  return tools?.some((t) => t.name === name) ? name : OTHER_TOOL;
}

interface Origin {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  path: string;
}

/** Where a call goes: `path` undefined for a CONNECT tunnel, whose path is unseen. */
export type CallTarget = Pick<HttpAction, 'scheme' | 'host' | 'port'> & { path?: string };

/** Catalog URLs parsed once per tool entry (entries are replaced, never mutated, on reload). */
const origins = new WeakMap<ToolEntry, Origin | null>();

function originOf(tool: ToolEntry): Origin | null {
  let o = origins.get(tool);
  if (o === undefined) {
    try {
      const u = new URL(tool.url);
      const scheme = u.protocol === 'https:' ? 'https' : 'http';
      const host = u.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
      o = { scheme, host, port: u.port ? Number(u.port) : scheme === 'https' ? 443 : 80, path: u.pathname.replace(/\/+$/, '') };
    } catch {
      o = null;
    }
    origins.set(tool, o);
  }
  return o;
}

function underPath(path: string, base: string): boolean {
  return base === '' || path === base || path.startsWith(base + '/');
}

/**
 * The catalog tool a call to this origin and path reaches: the one on the
 * same scheme, host and port whose base path holds the path (the longest
 * such base wins). `path` undefined (a CONNECT tunnel, whose path is unseen)
 * matches on the origin alone.
 */
export function catalogToolFor(http: CallTarget, tools: readonly ToolEntry[] | undefined): ToolEntry | undefined {
  let best: { tool: ToolEntry; length: number } | undefined;
  for (const tool of tools ?? []) {
    const o = originOf(tool);
    if (!o || !reaches(o, http)) continue;
    if (!best || o.path.length > best.length) best = { tool, length: o.path.length };
  }
  return best?.tool;
}

/** Same scheme, host and port, and (when the path is seen) a path under the tool's base. */
function reaches(o: Origin, http: CallTarget): boolean {
  if (o.scheme !== http.scheme || o.host !== http.host || o.port !== http.port) return false;
  return http.path === undefined || underPath(http.path, o.path);
}

/** The metrics label of a forward-proxy call: its catalog tool's name (catalogToolFor), else EXTERNAL_TOOL. */
export function metricToolFor(http: CallTarget, tools: readonly ToolEntry[] | undefined): string {
  return catalogToolFor(http, tools)?.name ?? EXTERNAL_TOOL;
}
