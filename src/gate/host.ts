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

/** A dotted quad in canonical form, or a lower-case name whose last label is not numeric. */
const CANONICAL_HOST = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z](?:[a-z0-9-]*[a-z0-9])?)(?::([1-9]\d{0,4}))?$/;

/** The common spellings are canonical already and need no URL parser; undefined for any other. */
function canonicalAuthority(authority: string, scheme: 'http' | 'https'): HostPort | undefined {
  const m = CANONICAL_HOST.exec(authority);
  if (!m || authority.includes('xn--')) return undefined;
  if (m[1] === undefined) return { host: authority, port: DEFAULT_PORTS[scheme]! };
  if (Number(m[1]) > 65535) return undefined;
  return { host: authority.slice(0, authority.lastIndexOf(':')), port: Number(m[1]) };
}

function parseUrl(authority: string, scheme: 'http' | 'https'): URL {
  try {
    return new URL(`${scheme}://${authority}/`);
  } catch {
    throw badHost(authority, 'not a valid host name or IP literal');
  }
}

/** The URL parser's host name lower-cased, IPv6 without brackets, without a trailing dot. */
function bareHost(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  // `example.com.` and `example.com` are the same host for DNS.
  if (host.endsWith('.') && host.length > 1) host = host.slice(0, -1);
  return host;
}

/** Any other spelling, through the URL parser. */
function parsedAuthority(authority: string, scheme: 'http' | 'https'): HostPort {
  if (!authority || /[\s@/\\?#]/.test(authority)) throw badHost(authority, 'not a host[:port]');
  const url = parseUrl(authority, scheme);
  const host = bareHost(url.hostname);
  if (!host) throw badHost(authority, 'empty host');
  return { host, port: url.port ? Number(url.port) : DEFAULT_PORTS[scheme]! };
}

/** Normalises `host[:port]` (an authority without userinfo). */
export function normaliseAuthority(authority: string, scheme: 'http' | 'https'): HostPort {
  return canonicalAuthority(authority, scheme) ?? parsedAuthority(authority, scheme);
}

/** `host:port` for an upstream origin, bracketing IPv6. */
export function formatAuthority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
