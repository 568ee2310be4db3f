/**
 * From the capture settings to the rule generator's input and to the
 * sidecar's listeners: one mapping, so the ports the rules redirect to are
 * the ports the sidecar listens on.
 */
import type { CaptureConfig } from '../config/capture.ts';
import type { CaptureRuleInput, CaptureTlsPort } from './nft-rules.ts';

export interface CaptureListenerPlan {
  http: { listenPort: number; probePort: number };
  tls: CaptureTlsPort[];
}

export function captureListeners(config: Pick<CaptureConfig, 'listenPort' | 'probeOffset' | 'tlsPorts'>): CaptureListenerPlan {
  return {
    http: { listenPort: config.listenPort, probePort: config.listenPort + config.probeOffset },
    tls: config.tlsPorts.map((port, i) => {
      const listenPort = config.listenPort + 1 + i;
      return { port, listenPort, probePort: listenPort + config.probeOffset };
    }),
  };
}

/** The `nameserver` addresses of a resolv.conf, in order (a zone index such as `%eth0` is dropped). */
export function nameserversOf(resolvConf: string): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) out.push(m[1]!.split('%')[0]!.toLowerCase());
  }
  return out;
}

/** The rule generator's input for these settings; `resolvers` when the settings name none. */
export function ruleInputFor(config: CaptureConfig, resolvers: readonly string[]): CaptureRuleInput {
  const plan = captureListeners(config);
  return {
    sidecarUid: config.sidecarUid,
    httpPorts: config.httpPorts,
    httpListenPort: plan.http.listenPort,
    httpProbePort: plan.http.probePort,
    tlsPorts: plan.tls,
    dnsResolvers: config.dnsResolvers.length ? config.dnsResolvers : resolvers,
    exclusions: config.exclusions,
  };
}
