/**
 * Applying a `compute` rewrite to an action. The result is a new action that
 * the policy evaluates again: a rewrite is a proposal, not a permission.
 */
import type { Action, HttpAction, Rewrite } from './types.ts';
import { PortcullisError, ErrorCodes } from '../errors.ts';
import { normalisePath } from './path.ts';

/** Encodes a decoded path for the request line, segment by segment. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%40/g, '@'))
    .join('/');
}

function rewriteHttp(http: HttpAction, r: NonNullable<Rewrite['http']>): HttpAction {
  const out: HttpAction = { ...http };
  if (r.method !== undefined) out.method = r.method.toUpperCase();
  if (r.scheme !== undefined) out.scheme = r.scheme;
  if (r.host !== undefined) out.host = r.host.toLowerCase();
  if (r.port !== undefined) out.port = r.port;
  if (r.query !== undefined) out.query = r.query;
  if (r.headers !== undefined) out.headers = { ...http.headers, ...lower(r.headers) };
  if (r.body !== undefined) {
    out.body = r.body;
    delete out.bodySha256;
  }
  if (r.path !== undefined) {
    const encoded = encodePath(r.path);
    // The policy's path is decoded; it must still be a clean path once
    // normalised, or the rewritten action would say one thing and do another.
    const n = normalisePath(encoded);
    if (n.path !== r.path) {
      throw new PortcullisError(ErrorCodes.REWRITE_NOT_ALLOWED, `rewrite path ${JSON.stringify(r.path)} is not a normalised path`);
    }
    out.path = n.path;
    out.rawPath = encoded;
  }
  return out;
}

function lower(h: Record<string, string>): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) o[k.toLowerCase()] = v;
  return o;
}

/** Throws REWRITE_NOT_ALLOWED when the rewrite does not fit the action's type. */
export function applyRewrite(action: Action, rewrite: Rewrite): Action {
  const out: Action = { ...action };
  if (rewrite.http) {
    if (!action.http || action.type === 'connect') {
      throw new PortcullisError(ErrorCodes.REWRITE_NOT_ALLOWED, `an http rewrite cannot apply to a ${action.type} action`);
    }
    out.http = rewriteHttp(action.http, rewrite.http);
  }
  if (rewrite.mcp) {
    if (!action.mcp || action.mcp.method !== 'tools/call') {
      throw new PortcullisError(ErrorCodes.REWRITE_NOT_ALLOWED, 'an mcp rewrite applies only to tools/call');
    }
    out.mcp = { ...action.mcp };
    if (rewrite.mcp.name !== undefined) {
      out.mcp.name = rewrite.mcp.name;
      out.tool = rewrite.mcp.name;
    }
    if (rewrite.mcp.arguments !== undefined) out.mcp.arguments = rewrite.mcp.arguments;
  }
  return out;
}
