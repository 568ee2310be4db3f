/**
 * Wires ledger shipping into a running gate: the S3 client with the
 * sidecar's own credentials, the witness client with the pod's token, and the
 * shipper over the gate's ledger recorder. `stop()` is the shutdown step:
 * after the proxy has stopped taking calls, the open segment is closed and
 * shipped within PORTCULLIS_SHIP_SHUTDOWN_TIMEOUT_MS.
 */
import type { ShippingConfig } from '../config/shipping.ts';
import { bundleStoreFor } from '../evidence/bundle-store.ts';
import type { LedgerRecorder } from '../evidence/ledger-recorder.ts';
import { LedgerShipper, type ShipReport } from '../evidence/shipping/ledger-shipper.ts';
import { S3Client } from '../evidence/shipping/s3-client.ts';
import type { HeadWitness } from '../evidence/shipping/witnessed-head.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import { HeadWitnessClient } from './head-witness-client.ts';

export interface LedgerShippingOptions {
  shipping: Readonly<ShippingConfig>;
  recorder: LedgerRecorder;
  ledgerFile: string;
  /** CA of the controller, when the witness is the controller over https. */
  controllerCa?: string;
  controllerTokenFile?: string;
  /** Instead of the HTTP witness (tests, or a witness in the same process). */
  witness?: HeadWitness;
  metrics?: PortcullisMetrics;
  logger?: Logger;
}

export interface LedgerShipping {
  readonly shipper: LedgerShipper;
  /** Ships what is left (closing the open segment first) and releases the clients. */
  stop(): Promise<ShipReport>;
}

export function startLedgerShipping(o: LedgerShippingOptions): LedgerShipping {
  const s = o.shipping;
  const client = new S3Client({ endpoint: s.endpoint, region: s.region, credentials: s.credentials });
  const http = o.witness ? undefined : httpWitness(o);
  const shipper = newShipper(o, client, o.witness ?? http);
  shipper.start();
  o.logger?.info({ destination: shipper.destination, endpoint: s.endpoint, witness: o.witness ? 'in process' : s.witnessUrl || 'none' }, 'ledger shipping to object storage');
  return {
    shipper,
    async stop() {
      try {
        return await shipper.stop(s.shutdownTimeoutMs);
      } finally {
        // Whatever is still in flight past the deadline is abandoned, not awaited.
        await Promise.allSettled([client.destroy(), http?.destroy()]);
      }
    },
  };
}

/** The controller's witness over HTTP, when a witness URL is configured. */
function httpWitness(o: LedgerShippingOptions): HeadWitnessClient | undefined {
  if (!o.shipping.witnessUrl) return undefined;
  return new HeadWitnessClient({ controllerUrl: o.shipping.witnessUrl, ...(o.controllerCa ? { ca: o.controllerCa } : {}), ...(o.controllerTokenFile ? { tokenFile: o.controllerTokenFile } : {}) });
}

function newShipper(o: LedgerShippingOptions, client: S3Client, witness: HeadWitness | undefined): LedgerShipper {
  const s = o.shipping;
  const recorder = o.recorder;
  return new LedgerShipper({
    ledger: { path: o.ledgerFile, head: () => recorder.head(), seal: () => recorder.seal(), activeBytes: () => recorder.activeBytes() },
    client,
    destination: s.destination,
    identity: s.identity,
    bundlesDir: bundleStoreFor(o.ledgerFile),
    ...(witness ? { witness } : {}),
    intervalMs: s.intervalMs,
    segmentMaxAgeMs: s.segmentMaxAgeMs,
    retryMaxMs: s.retryMaxMs,
    ...(o.metrics ? { metrics: o.metrics } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
}
