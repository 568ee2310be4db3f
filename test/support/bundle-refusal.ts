// What a sidecar's /readyz says of a bundle it refused, read from the client as the server reads it.
import type { BundleClient } from '../../src/sidecar/bundle-client.ts';

export interface ReportedRefusal {
  code: string;
  message: string;
  keeping: string | null;
}

/** The `bundleRefused` part of the client's readiness, or undefined while no bundle is refused. */
export function refusalOf(client: BundleClient): ReportedRefusal | undefined {
  return (client.readiness() as { bundleRefused?: ReportedRefusal } | undefined)?.bundleRefused;
}
