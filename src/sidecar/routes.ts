/**
 * Where a request goes (design.md §1 step 1): an absolute-form request is a
 * forward-proxy call; `/mcp/<server>/…` and `/tools/<name>/…` are the named
 * routes of the bundle's tool catalog; anything else is not a route.
 */
import type { ToolEntry } from '../policy/types.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { normalisePath, splitPathAndQuery } from '../gate/path.ts';

export interface ForwardTarget {
  kind: 'forward';
  scheme: 'http' | 'https';
  /** `host[:port]` as the agent wrote it. */
  authority: string;
  /** Origin-form `/path?query`. */
  target: string;
}

export interface NamedTarget {
  kind: 'mcp' | 'tool';
  tool: ToolEntry;
  scheme: 'http' | 'https';
  authority: string;
  /** Origin-form target on the upstream: the catalog URL's path + the normalised rest + the query. */
  target: string;
  /** The rest of the path exactly as the agent sent it. */
  rawRest: string;
  /** The rest of the path, normalised (`/` when the agent named the route alone). */
  rest: string;
  /** The agent's own query (without `?`), without the catalog URL's. */
  rawQuery: string;
}

export type Target = ForwardTarget | NamedTarget;

/** Catalog URLs parsed once per tool entry (entries are replaced, never mutated, on reload). */
const parsed = new WeakMap<ToolEntry, URL>();

function parsedUrl(tool: ToolEntry): URL {
  let u = parsed.get(tool);
  if (!u) parsed.set(tool, (u = new URL(tool.url)));
  return u;
}

const ABSOLUTE = /^(https?):\/\/([^/?#]*)(.*)$/i;

function unknownRoute(url: string, why: string): PortcullisError {
  return new PortcullisError(ErrorCodes.UNKNOWN_ROUTE, `${why}: ${url.slice(0, 200)}`, { url: url.slice(0, 2048) });
}

/**
 * An MCP server is reached at its catalog endpoint only: a sub-path or a query
 * would reach another resource of the server's origin than the JSON-RPC
 * endpoint the policy decides on, so both are refused unless the catalog
 * entry opens them (and then the policy sees them).
 */
function checkMcpRoute(tool: ToolEntry, url: string, rawRest: string, rawQuery: string): void {
  if (rawRest !== '/' && !tool.allowSubPaths) {
    throw new PortcullisError(
      ErrorCodes.MCP_ROUTE_REFUSED,
      `MCP server "${tool.name}" is reached at /mcp/${tool.name} only, not at the sub-path ${rawRest.slice(0, 200)}; a catalog entry with allowSubPaths: true opens its sub-paths to the policy`,
      { server: tool.name, url: url.slice(0, 2048) },
    );
  }
  if (rawQuery !== '' && !tool.allowQuery) {
    throw new PortcullisError(
      ErrorCodes.MCP_ROUTE_REFUSED,
      `MCP server "${tool.name}" takes no query on its route; a catalog entry with allowQuery: true opens queries to the policy`,
      { server: tool.name, url: url.slice(0, 2048) },
    );
  }
}

function joinBase(base: string, rest: string): string {
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  if (rest === '/' && b) return b;
  return b + rest;
}

/**
 * Resolves a request target; throws UNKNOWN_ROUTE (no such route or tool),
 * POLICY_NO_BUNDLE (a named route while no catalog is loaded), BAD_PATH, or
 * MCP_ROUTE_REFUSED (a sub-path or query the catalog does not open).
 */
export function resolveTarget(url: string, tools: readonly ToolEntry[] | undefined): Target {
  const abs = ABSOLUTE.exec(url);
  if (abs) {
    const rest = abs[3] || '/';
    return { kind: 'forward', scheme: abs[1]!.toLowerCase() as 'http' | 'https', authority: abs[2]!, target: rest.startsWith('/') ? rest : '/' + rest };
  }
  const { rawPath, rawQuery } = splitPathAndQuery(url);
  const m = /^\/(mcp|tools)\/([A-Za-z0-9._-]+)(\/.*)?$/.exec(rawPath);
  if (!m) {
    throw unknownRoute(url, 'not a route: send absolute-form requests (HTTP_PROXY), or use /mcp/<server>/… or /tools/<name>/…');
  }
  if (!tools) throw new PortcullisError(ErrorCodes.POLICY_NO_BUNDLE, 'no policy bundle is loaded, so there is no tool catalog to route by');
  const kind = m[1] === 'mcp' ? 'mcp' : 'tool';
  const tool = catalogEntry(tools, kind, m[2]!, url);
  const rawRest = m[3] ?? '/';
  if (kind === 'mcp') checkMcpRoute(tool, url, rawRest, rawQuery);
  return namedTarget(kind, tool, rawRest, rawQuery);
}

/** The catalog entry a named route reaches; UNKNOWN_ROUTE, naming the known ones, when there is none. */
function catalogEntry(tools: readonly ToolEntry[], kind: 'mcp' | 'tool', name: string, url: string): ToolEntry {
  const ofKind = (t: ToolEntry): boolean => (t.kind === 'mcp') === (kind === 'mcp');
  const tool = tools.find((t) => t.name === name && ofKind(t));
  if (tool) return tool;
  const known = tools.filter(ofKind).map((t) => t.name);
  throw unknownRoute(url, `no ${kind === 'mcp' ? 'MCP server' : 'HTTP tool'} named "${name}" in the catalog (known: ${known.join(', ') || 'none'})`);
}

function namedTarget(kind: 'mcp' | 'tool', tool: ToolEntry, rawRest: string, rawQuery: string): NamedTarget {
  const base = parsedUrl(tool);
  // The rest is normalised on its own root first, so `..` cannot climb out of the tool's base path.
  const rest = normalisePath(rawRest).forward;
  const query = [base.search.slice(1), rawQuery].filter(Boolean).join('&');
  return {
    kind,
    tool,
    scheme: base.protocol === 'https:' ? 'https' : 'http',
    authority: base.host,
    target: joinBase(base.pathname, rest) + (query ? '?' + query : ''),
    rawRest,
    rest,
    rawQuery,
  };
}
