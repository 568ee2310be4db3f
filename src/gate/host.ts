/**
 * Host normalisation: one spelling per host so that a policy on
 * `api.example.com` or `127.0.0.1` matches `API.Example.COM.`, `0x7f.1` and
 * `2130706433` alike. The WHATWG URL parser already knows every IPv4 and IPv6
 * notation; it is the reference here.
 */
import { PortcullisError, ErrorCodes } from '../errors.ts';

export interface HostPort {
  /** Lower-cased name or IP literal; IPv6 without brackets. */
  host: string;
  port: number;
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };

function badHost(raw: string, why: string): PortcullisError {
  return new PortcullisError(ErrorCodes.BAD_REQUEST, `host ${JSON.stringify(raw)} is refused: ${why}`, { host: raw });
}

/** Normalises `host[:port]` (an authority without userinfo). */
export function normaliseAuthority(authority: string, scheme: 'http' | 'https'): HostPort {
  if (!authority || /[\s@/\\?#]/.test(authority)) throw badHost(authority, 'not a host[:port]');
  let url: URL;
  try {
    url = new URL(`${scheme}://${authority}/`);
  } catch {
    throw badHost(authority, 'not a valid host name or IP literal');
  }
  let host = url.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  // `example.com.` and `example.com` are the same host for DNS.
  if (host.endsWith('.') && host.length > 1) host = host.slice(0, -1);
  if (!host) throw badHost(authority, 'empty host');
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[scheme]!;
  return { host, port };
}

/** `host:port` for an upstream origin, bracketing IPv6. */
export function formatAuthority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
