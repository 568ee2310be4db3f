/**
 * Traffic capture settings (design.md §1): read by the sidecar (which
 * listens and checks the rules) and by `portcullis capture-init` (which
 * installs them), from the same variables, so the two cannot disagree. On
 * Kubernetes the injector sets them from the chart's values: they are the
 * platform's, never the pod's.
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { addressFamily } from '../capture/nft-rules.ts';

export interface CaptureConfig {
  /** Capture is expected: the sidecar opens its capture listeners and is not ready until the rules are in place. */
  enabled: boolean;
  /** The sidecar's UID, exempt from capture. */
  sidecarUid: number;
  /** Destination ports decided as plain HTTP (by the Host header). */
  httpPorts: number[];
  /** Destination ports decided as TLS (by the ClientHello's SNI). */
  tlsPorts: number[];
  /** The HTTP listener's loopback port; TLS port i gets listenPort + 1 + i. */
  listenPort: number;
  /** Added to a listener's port to give the loopback port of its probe. */
  probeOffset: number;
  /** DNS resolvers allowed out; empty: the nameservers of /etc/resolv.conf when the rules are made. */
  dnsResolvers: string[];
  /** Destinations left uncaptured (address or CIDR), e.g. the Kubernetes API for agents that need it. */
  exclusions: string[];
}

type Env = Record<string, string | undefined>;

function invalid(name: string, raw: string, expected: string): PortcullisError {
  return new PortcullisError(ErrorCodes.CONFIG, `${name}=${JSON.stringify(raw)} is invalid: expected ${expected}`, { setting: name });
}

function intIn(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw invalid(name, raw, `an integer from ${min} to ${max}`);
  return n;
}

function ports(name: string, raw: string): number[] {
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  return items.map((p) => intIn(name, p, 1, 65535));
}

function addresses(name: string, raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const a of items) {
    try {
      addressFamily(a);
    } catch {
      throw invalid(name, raw, 'a comma-separated list of IPv4 or IPv6 addresses or CIDRs');
    }
  }
  return items;
}

const setting = (env: Env, name: string, def: string): string => env[name] ?? def;

/** Reads and checks the capture settings; throws CONFIG naming the bad one. */
export function readCaptureConfig(env: Env): CaptureConfig {
  const enabledRaw = setting(env, 'PORTCULLIS_CAPTURE', 'false').trim().toLowerCase();
  if (!['true', 'false', '1', '0'].includes(enabledRaw)) throw invalid('PORTCULLIS_CAPTURE', enabledRaw, 'true or false');
  const config: CaptureConfig = {
    enabled: enabledRaw === 'true' || enabledRaw === '1',
    sidecarUid: intIn('PORTCULLIS_CAPTURE_SIDECAR_UID', setting(env, 'PORTCULLIS_CAPTURE_SIDECAR_UID', '65532'), 1, 2 ** 31 - 1),
    httpPorts: ports('PORTCULLIS_CAPTURE_HTTP_PORTS', setting(env, 'PORTCULLIS_CAPTURE_HTTP_PORTS', '80')),
    tlsPorts: ports('PORTCULLIS_CAPTURE_TLS_PORTS', setting(env, 'PORTCULLIS_CAPTURE_TLS_PORTS', '443')),
    listenPort: intIn('PORTCULLIS_CAPTURE_LISTEN_PORT', setting(env, 'PORTCULLIS_CAPTURE_LISTEN_PORT', '15001'), 1, 65535),
    probeOffset: intIn('PORTCULLIS_CAPTURE_PROBE_OFFSET', setting(env, 'PORTCULLIS_CAPTURE_PROBE_OFFSET', '10000'), 1, 65535),
    dnsResolvers: addresses('PORTCULLIS_CAPTURE_DNS', setting(env, 'PORTCULLIS_CAPTURE_DNS', '')),
    exclusions: addresses('PORTCULLIS_CAPTURE_EXCLUDE', setting(env, 'PORTCULLIS_CAPTURE_EXCLUDE', '')),
  };
  const highest = config.listenPort + config.tlsPorts.length + config.probeOffset;
  if (highest > 65535) {
    throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_CAPTURE_LISTEN_PORT + PORTCULLIS_CAPTURE_PROBE_OFFSET leaves no room for ${config.tlsPorts.length + 1} listeners and their probes below 65536`, {
      setting: 'PORTCULLIS_CAPTURE_PROBE_OFFSET',
    });
  }
  const both = config.httpPorts.filter((p) => config.tlsPorts.includes(p));
  if (both.length) throw new PortcullisError(ErrorCodes.CONFIG, `port ${both[0]} is in both PORTCULLIS_CAPTURE_HTTP_PORTS and PORTCULLIS_CAPTURE_TLS_PORTS`, { setting: 'PORTCULLIS_CAPTURE_TLS_PORTS' });
  return config;
}

/** The names of the capture variables, for `--help` texts and docs. */
export const CAPTURE_SETTING_NAMES = [
  'PORTCULLIS_CAPTURE',
  'PORTCULLIS_CAPTURE_SIDECAR_UID',
  'PORTCULLIS_CAPTURE_HTTP_PORTS',
  'PORTCULLIS_CAPTURE_TLS_PORTS',
  'PORTCULLIS_CAPTURE_LISTEN_PORT',
  'PORTCULLIS_CAPTURE_PROBE_OFFSET',
  'PORTCULLIS_CAPTURE_DNS',
  'PORTCULLIS_CAPTURE_EXCLUDE',
] as const;
