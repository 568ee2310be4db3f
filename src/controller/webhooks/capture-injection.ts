/**
 * What injection adds for traffic capture (design.md §1, §6): an init
 * container, before the native sidecar, that runs `portcullis capture-init`
 * from the same image with only NET_ADMIN and NET_RAW, and the capture
 * settings the sidecar and it share. Pure: settings in, containers and
 * environment out. The settings are the platform's (the chart's values,
 * through the controller); nothing here reads the pod's annotations.
 */
import type { Container, EnvVar } from 'kubernetes-types/core/v1.js';

export const CAPTURE_INIT_NAME = 'portcullis-capture-init';

/** The capture settings injection hands to the init step and the sidecar. */
export interface CaptureInjection {
  /** Destination ports decided as HTTP by the Host header. */
  httpPorts: number[];
  /** Destination ports decided as TLS by the ClientHello's SNI. */
  tlsPorts: number[];
  /** Destinations left uncaptured (addresses or CIDRs), e.g. the Kubernetes API for agents that need it. */
  exclude: string[];
  /** DNS resolvers the pod may reach; empty: the pod's resolv.conf nameservers. */
  dns: string[];
}

export const DEFAULT_CAPTURE: Readonly<CaptureInjection> = Object.freeze({ httpPorts: [80], tlsPorts: [443], exclude: [], dns: [] });

/** The same settings for the init step (rules) and the sidecar (listeners, probe). */
export function captureEnv(capture: CaptureInjection): EnvVar[] {
  return [
    { name: 'PORTCULLIS_CAPTURE', value: 'true' },
    { name: 'PORTCULLIS_CAPTURE_HTTP_PORTS', value: capture.httpPorts.join(',') },
    { name: 'PORTCULLIS_CAPTURE_TLS_PORTS', value: capture.tlsPorts.join(',') },
    ...(capture.exclude.length ? [{ name: 'PORTCULLIS_CAPTURE_EXCLUDE', value: capture.exclude.join(',') }] : []),
    ...(capture.dns.length ? [{ name: 'PORTCULLIS_CAPTURE_DNS', value: capture.dns.join(',') }] : []),
  ];
}

/**
 * The init container: root in the pod's network namespace with NET_ADMIN and
 * NET_RAW only (every other capability dropped, no privilege escalation, a
 * read-only root filesystem); it installs the rules and exits.
 */
export function captureInitContainer(image: string, imagePullPolicy: string, capture: CaptureInjection): Container {
  return {
    name: CAPTURE_INIT_NAME,
    image,
    imagePullPolicy,
    args: ['capture-init'],
    env: captureEnv(capture),
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  } as Container;
}
