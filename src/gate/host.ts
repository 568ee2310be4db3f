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
/** A dotted quad in canonical form, or a lower-case name whose last label is not numeric. */
const CANONICAL_HOST = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z](?:[a-z0-9-]*[a-z0-9])?)(?::([1-9]\d{0,4}))?$/;

export function normaliseAuthority(authority: string, scheme: 'http' | 'https'): HostPort {
  // The common spellings need no URL parser; everything else goes through it.
  const m = CANONICAL_HOST.exec(authority);
  if (m && (m[1] === undefined || Number(m[1]) <= 65535) && !authority.includes('xn--')) {
    const colon = m[1] === undefined ? -1 : authority.lastIndexOf(':');
    return { host: colon < 0 ? authority : authority.slice(0, colon), port: m[1] === undefined ? DEFAULT_PORTS[scheme]! : Number(m[1]) };
  }
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
