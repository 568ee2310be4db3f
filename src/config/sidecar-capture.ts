/**
 * The controller's capture settings for the pods it injects (the chart's
 * `capture` values): whether injected pods get the capture init step, and
 * the ports, exclusions and resolvers it and the sidecar are given. Checked
 * with the same rules the init step and the sidecar apply to them.
 */
import { PortcullisError } from '../errors.ts';
import type { CaptureInjection } from '../controller/webhooks/capture-injection.ts';
import { readCaptureConfig } from './capture.ts';

type Env = Record<string, string | undefined>;

const PREFIX = 'PORTCULLIS_SIDECAR_CAPTURE';

/** The settings, or undefined when PORTCULLIS_SIDECAR_CAPTURE=false; throws CONFIG naming the bad setting. */
export function readSidecarCapture(env: Env): CaptureInjection | undefined {
  const as = (suffix: string): string | undefined => env[`${PREFIX}${suffix}`];
  const mapped: Env = {
    PORTCULLIS_CAPTURE: as('') ?? 'true',
    PORTCULLIS_CAPTURE_HTTP_PORTS: as('_HTTP_PORTS'),
    PORTCULLIS_CAPTURE_TLS_PORTS: as('_TLS_PORTS'),
    PORTCULLIS_CAPTURE_EXCLUDE: as('_EXCLUDE'),
    PORTCULLIS_CAPTURE_DNS: as('_DNS'),
  };
  try {
    const c = readCaptureConfig(mapped);
    return c.enabled ? { httpPorts: c.httpPorts, tlsPorts: c.tlsPorts, exclude: c.exclusions, dns: c.dnsResolvers } : undefined;
  } catch (e) {
    // The same checks, reported under the controller's own names.
    if (!(e instanceof PortcullisError)) throw e;
    const rename = (s: string): string => s.replace(/PORTCULLIS_CAPTURE/g, PREFIX);
    throw new PortcullisError(e.code, rename(e.message), { setting: rename(String(e.details?.setting ?? PREFIX)) });
  }
}

/** The variables read here, for the docs. */
export const SIDECAR_CAPTURE_SETTINGS = ['PORTCULLIS_SIDECAR_CAPTURE', 'PORTCULLIS_SIDECAR_CAPTURE_HTTP_PORTS', 'PORTCULLIS_SIDECAR_CAPTURE_TLS_PORTS', 'PORTCULLIS_SIDECAR_CAPTURE_EXCLUDE', 'PORTCULLIS_SIDECAR_CAPTURE_DNS'] as const;
