/**
 * The gate is the local MCP endpoint of the agent (127.0.0.1), so it guards
 * against DNS rebinding as the MCP specification asks of local servers: a web
 * page the agent's user opens could otherwise post to it under another name.
 * Browsers name the page in `Origin`; a request whose Origin is not a
 * loopback origin is refused before anything is decided. Agents that are not
 * browsers send no Origin and are not affected. Pure.
 */

const LOOPBACK_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** True when there is no Origin, or it names a loopback host (any scheme and port). */
export function isLocalOrigin(origin: string | string[] | undefined): boolean {
  if (origin === undefined) return true;
  if (Array.isArray(origin)) return origin.every((o) => isLocalOrigin(o));
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    // `null` (a sandboxed or file page) and anything unreadable are not local pages.
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.test(url.hostname);
}
