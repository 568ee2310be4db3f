/**
 * The nftables rule set that captures an agent pod's egress (design.md §1,
 * "transparently"), as one pure function: the init step (`portcullis
 * capture-init`), the sidecar's start-up check and the tests all take the
 * rules from here, so what is tested is what is installed.
 *
 * In the pod's network namespace, for every UID but the sidecar's:
 * - TCP to an HTTP port is redirected to the sidecar's transparent HTTP
 *   listener (the destination is then the Host header);
 * - TCP to a TLS port is redirected to that port's own TLS listener (the
 *   destination is then the ClientHello's SNI, on that port): one listener
 *   per port, because Node cannot read the original destination
 *   (SO_ORIGINAL_DST) of a redirected connection;
 * - any other TCP is refused at once (a reset, so clients fail fast);
 * - UDP and every other protocol is dropped, except DNS (UDP and TCP 53) to
 *   the pod's resolvers and the IPv6 neighbour discovery the link needs;
 * - loopback is left alone (the explicit proxy, the admin port, other
 *   containers of the pod), and so are the platform's exclusions.
 * IPv4 and IPv6 are treated alike (one `inet` table).
 *
 * The sidecar's own UID is exempt, with one exception it uses to check that
 * the rules are in place: a connection from it to a loopback probe port is
 * redirected to the listener that port stands for (capture-probe.ts).
 */

/** The nftables table that holds every capture rule; replaced whole on each apply. */
export const CAPTURE_TABLE = 'portcullis';
/** The NAT chain (redirects) and the filter chain (refusals, drops). */
export const CAPTURE_CHAINS = { redirect: 'capture', filter: 'egress' } as const;

export interface CaptureTlsPort {
  /** The destination port agents connect to (443). */
  port: number;
  /** The sidecar's loopback listener for it. */
  listenPort: number;
  /** The loopback port whose connections from the sidecar's UID are redirected to listenPort. */
  probePort: number;
}

export interface CaptureRuleInput {
  /** The UID the sidecar runs as: its connections leave unchanged. */
  sidecarUid: number;
  /** Destination ports handled as plain HTTP. */
  httpPorts: readonly number[];
  /** The sidecar's transparent HTTP listener on loopback. */
  httpListenPort: number;
  /** The loopback port whose connections from the sidecar's UID are redirected to httpListenPort. */
  httpProbePort: number;
  tlsPorts: readonly CaptureTlsPort[];
  /** The pod's DNS resolvers (IPv4 or IPv6 addresses): the only UDP allowed out. */
  dnsResolvers: readonly string[];
  /** Destinations left alone (address or CIDR, IPv4 or IPv6): platform-owned only. */
  exclusions: readonly string[];
}

export interface CaptureChain {
  name: string;
  type: 'nat' | 'filter';
  /** nftables hook priority: NAT before filter, so the filter sees redirected connections as such. */
  priority: number;
  rules: string[];
}

export interface CaptureRuleSet {
  table: string;
  chains: CaptureChain[];
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/;
const IPV6_CIDR = /^([0-9a-f:.]+)(\/(\d{1,3}))?$/i;

/** `ip` or `ip6` for an address or CIDR; throws on anything else (the rules must never be guessed). */
export function addressFamily(value: string): 'ip' | 'ip6' {
  const v4 = IPV4_CIDR.exec(value);
  if (v4) {
    const octetsOk = [v4[1], v4[2], v4[3], v4[4]].every((o) => Number(o) <= 255);
    if (octetsOk && (v4[6] === undefined || Number(v4[6]) <= 32)) return 'ip';
  }
  const v6 = IPV6_CIDR.exec(value);
  if (v6 && v6[1]!.includes(':') && (v6[3] === undefined || Number(v6[3]) <= 128)) return 'ip6';
  throw new Error(`"${value}" is not an IPv4 or IPv6 address or CIDR`);
}

function validPort(p: number, what: string): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`${what} ${p} is not a port from 1 to 65535`);
  return p;
}

function portSet(ports: readonly number[]): string {
  return ports.length === 1 ? String(ports[0]) : `{ ${ports.join(', ')} }`;
}

function byFamily(addresses: readonly string[]): { ip: string[]; ip6: string[] } {
  const out = { ip: [] as string[], ip6: [] as string[] };
  for (const a of addresses) out[addressFamily(a)].push(a);
  return out;
}

function addressSet(addresses: readonly string[]): string {
  return addresses.length === 1 ? addresses[0]! : `{ ${addresses.join(', ')} }`;
}

/** Checks the input as a whole: every port valid, no port taken twice. */
function validate(input: CaptureRuleInput): void {
  if (!Number.isInteger(input.sidecarUid) || input.sidecarUid < 0) throw new Error(`sidecar UID ${input.sidecarUid} is not a UID`);
  const listeners = [input.httpListenPort, input.httpProbePort, ...input.tlsPorts.flatMap((t) => [t.listenPort, t.probePort])];
  listeners.forEach((p) => validPort(p, 'listener or probe port'));
  if (new Set(listeners).size !== listeners.length) throw new Error(`listener and probe ports must all differ (${listeners.join(', ')})`);
  const captured = [...input.httpPorts, ...input.tlsPorts.map((t) => t.port)];
  captured.forEach((p) => validPort(p, 'captured port'));
  if (new Set(captured).size !== captured.length) throw new Error(`a port cannot be both HTTP and TLS, or listed twice (${captured.join(', ')})`);
}

/** The probe redirects: the sidecar's own way to see that the rules are there. */
function probeRules(input: CaptureRuleInput): string[] {
  const uid = `meta skuid ${input.sidecarUid}`;
  const pairs = [[input.httpProbePort, input.httpListenPort], ...input.tlsPorts.map((t) => [t.probePort, t.listenPort])];
  return pairs.flatMap(([probe, listen]) => [
    `${uid} ip daddr 127.0.0.1 tcp dport ${probe} redirect to :${listen}`,
    `${uid} ip6 daddr ::1 tcp dport ${probe} redirect to :${listen}`,
  ]);
}

/** Rules that let a packet through untouched, shared by both chains (`verdict` is `return` in NAT, `accept` in filter). */
function passRules(input: CaptureRuleInput, verdict: 'return' | 'accept'): string[] {
  const excluded = byFamily(input.exclusions);
  return [
    `meta skuid ${input.sidecarUid} ${verdict}`,
    `oifname "lo" ${verdict}`,
    ...(excluded.ip.length ? [`ip daddr ${addressSet(excluded.ip)} ${verdict}`] : []),
    ...(excluded.ip6.length ? [`ip6 daddr ${addressSet(excluded.ip6)} ${verdict}`] : []),
  ];
}

/** The rule set for one pod. Throws on an invalid input: a wrong rule set must never be installed. */
export function captureRuleSet(input: CaptureRuleInput): CaptureRuleSet {
  validate(input);
  const resolvers = byFamily(input.dnsResolvers);
  const redirect: string[] = [
    ...probeRules(input),
    ...passRules(input, 'return'),
    ...(input.httpPorts.length ? [`tcp dport ${portSet(input.httpPorts)} redirect to :${input.httpListenPort}`] : []),
    ...input.tlsPorts.map((t) => `tcp dport ${t.port} redirect to :${t.listenPort}`),
  ];
  const filter: string[] = [
    // Replies and the ICMP errors of connections already let through (inbound ones included).
    'ct state established,related accept',
    ...passRules(input, 'accept'),
    // Redirected above to a capture listener on loopback.
    'ct status dnat accept',
    ...(['ip', 'ip6'] as const).flatMap((f) =>
      resolvers[f].length ? [`${f} daddr ${addressSet(resolvers[f])} udp dport 53 accept`, `${f} daddr ${addressSet(resolvers[f])} tcp dport 53 accept`] : [],
    ),
    // Without neighbour discovery IPv6 cannot reach even the resolver.
    'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept',
    'meta l4proto tcp counter reject with tcp reset',
    'counter drop',
  ];
  return {
    table: CAPTURE_TABLE,
    chains: [
      { name: CAPTURE_CHAINS.redirect, type: 'nat', priority: -100, rules: redirect },
      { name: CAPTURE_CHAINS.filter, type: 'filter', priority: 0, rules: filter },
    ],
  };
}

/**
 * The rule set as an `nft -f` script. It creates the table (if absent) and
 * deletes it before defining it again, in one transaction: applying it twice
 * leaves one copy, and a failure leaves the previous rules in place.
 */
export function renderNftScript(set: CaptureRuleSet): string {
  const lines = [`table inet ${set.table}`, `delete table inet ${set.table}`, `table inet ${set.table} {`];
  for (const c of set.chains) {
    lines.push(`  chain ${c.name} {`, `    type ${c.type} hook output priority ${c.priority}; policy accept;`);
    for (const r of c.rules) lines.push(`    ${r}`);
    lines.push('  }');
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
