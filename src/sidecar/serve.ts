/**
 * Wires and starts the gate as a process: telemetry, evidence, the proxy and
 * the admin server, listening. Both `portcullis dev` (bundle from a folder)
 * and `portcullis sidecar` (bundle from the controller) start it.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { SidecarConfig } from '../config/config.ts';
import type { PolicyEngine } from '../policy/types.ts';
import type { ApprovalBroker } from '../gate/types.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { createMetrics, type PortcullisMetrics } from '../telemetry/metrics.ts';
import { createTracing, tracingConfigFromEnv, type Tracing } from '../telemetry/tracing.ts';
import { spanExportReport } from '../telemetry/span-export-report.ts';
import { createLedgerRecorder, type LedgerRecorder } from '../evidence/ledger-recorder.ts';
import { loadHeadSigner } from '../evidence/signing.ts';
import { bundleStoreFor } from '../evidence/bundle-store.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { buildSidecar } from './app.ts';
import { buildAdmin } from './admin.ts';
import { startLedgerShipping, type LedgerShipping } from './ledger-shipping.ts';
import { startSegmentRetention, type SegmentRetention } from '../evidence/segment-retention.ts';
import type { ShippingConfig } from '../config/shipping.ts';
import { watchCapture, type CaptureWatch } from './capture-check.ts';
import type { LocalApprovalBroker } from './local-approvals.ts';

export interface Telemetry {
  logger: Logger;
  metrics: PortcullisMetrics;
  tracing: Tracing;
}

export async function createTelemetry(config: Readonly<SidecarConfig>, env: NodeJS.ProcessEnv, name: string): Promise<Telemetry> {
  const logger = createLogger({ level: config.logLevel, name, redactHeaders: config.redactHeaders });
  const metrics = createMetrics({ ...(config.agent.pod ? { defaultLabels: { pod: config.agent.pod } } : {}) });
  const tracing = await createTracing({ config: tracingConfigFromEnv(env, `portcullis-${name}`), report: spanExportReport(metrics, logger) });
  return { logger, metrics, tracing };
}

export interface GateOptions {
  config: Readonly<SidecarConfig>;
  engine: PolicyEngine;
  telemetry: Telemetry;
  approvals?: ApprovalBroker | undefined;
  /** Ships the ledger to object storage (PORTCULLIS_SHIP_TO); undefined keeps it on the volume only. */
  shipping?: Readonly<ShippingConfig> | undefined;
  /** Local mode: the in-memory broker whose endpoints the admin server exposes. */
  localApprovals?: LocalApprovalBroker | undefined;
  /** Local mode: the token those endpoints require (admin-token.ts). */
  adminToken?: string | undefined;
  /** On Kubernetes: what /readyz says about the bundle's source (BundleClient.readiness). */
  bundleStatus?: (() => Record<string, unknown> | undefined) | undefined;
}

export interface RunningGate {
  proxy: FastifyInstance;
  admin: FastifyInstance;
  proxyUrl: string;
  adminUrl: string;
  recorder: LedgerRecorder | undefined;
  shipping: LedgerShipping | undefined;
  /** Deletes old segments when they are not shipped (PORTCULLIS_LEDGER_KEEP_SEGMENTS). */
  retention: SegmentRetention | undefined;
  close(): Promise<void>;
}

function urlOf(app: FastifyInstance): string {
  const a = app.server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

/** Listens; an address in use or not allowed is a start-up error naming the setting. */
async function listenOn(app: FastifyInstance, host: string, port: number, setting: string): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new PortcullisError(ErrorCodes.CONFIG, `cannot listen on ${host}:${port} (${code}): choose another with ${setting}`, { setting }, { cause: e });
    }
    throw e;
  }
}

export async function startGate(o: GateOptions): Promise<RunningGate> {
  const { config, engine, telemetry } = o;
  const { recorder, shipping, retention } = await startEvidence(o);
  const proxy = buildProxy(o, recorder);
  let captureWatch: CaptureWatch | undefined;
  const admin = buildAdmin({
    engine,
    bundleName: () => config.bundleName,
    metrics: telemetry.metrics,
    approvals: o.localApprovals,
    recorder,
    adminToken: o.adminToken,
    adminTokenFile: config.adminTokenFile,
    notReady: () => captureWatch?.problem(),
    bundleStatus: o.bundleStatus,
  });
  await listenAll(config, proxy, admin);
  // Not ready until the probes show the pod's rules send its TCP here.
  if (proxy.capture) {
    captureWatch = watchCapture(proxy.capture, { metrics: telemetry.metrics, logger: telemetry.logger });
    await captureWatch.first;
  }
  return {
    proxy,
    admin,
    proxyUrl: urlOf(proxy),
    adminUrl: urlOf(admin),
    recorder,
    shipping,
    retention,
    async close() {
      captureWatch?.stop();
      o.localApprovals?.close();
      await Promise.allSettled([proxy.close(), admin.close()]);
      // The calls have ended: close the open segment and ship it before the ledger closes.
      await shipping?.stop();
      await retention?.stop();
      await recorder?.close();
      await telemetry.tracing.shutdown().catch(() => undefined);
    },
  };
}

interface Evidence {
  recorder: LedgerRecorder | undefined;
  shipping: LedgerShipping | undefined;
  retention: SegmentRetention | undefined;
}

/** The ledger (when configured), then its shipping or, without shipping, its segment retention. */
async function startEvidence(o: GateOptions): Promise<Evidence> {
  const { config } = o;
  if (!config.ledgerFile) return { recorder: undefined, shipping: undefined, retention: undefined };
  // Shipping deletes a segment once it is stored; without it, a bound on what the volume keeps.
  const retention: SegmentRetention | undefined =
    !o.shipping && config.ledgerKeepSegments > 0 ? startSegmentRetention({ ledgerFile: config.ledgerFile, keep: config.ledgerKeepSegments, logger: o.telemetry.logger }) : undefined;
  const recorder = await openLedger(o, retention);
  const shipping = o.shipping ? shipLedger(o, o.shipping, recorder) : undefined;
  return { recorder, shipping, retention };
}

async function openLedger(o: GateOptions, retention: SegmentRetention | undefined): Promise<LedgerRecorder> {
  const { config, engine, telemetry } = o;
  return createLedgerRecorder({
    path: config.ledgerFile,
    maxFileBytes: config.ledgerMaxBytes,
    durability: config.ledgerDurability,
    syncIntervalMs: config.ledgerSyncIntervalMs,
    ...(config.ledgerSigningKey ? { signer: await loadHeadSigner(config.ledgerSigningKey) } : {}),
    bundles: { dir: bundleStoreFor(config.ledgerFile), current: () => engine.current() },
    metrics: telemetry.metrics,
    logger: telemetry.logger,
    ...(retention ? { onRotate: retention.rotated } : {}),
  });
}

function shipLedger(o: GateOptions, shipping: Readonly<ShippingConfig>, recorder: LedgerRecorder): LedgerShipping {
  const { config, telemetry } = o;
  return startLedgerShipping({
    shipping,
    recorder,
    ledgerFile: config.ledgerFile,
    ...(config.controllerCa ? { controllerCa: config.controllerCa } : {}),
    ...(config.controllerTokenFile ? { controllerTokenFile: config.controllerTokenFile } : {}),
    metrics: telemetry.metrics,
    logger: telemetry.logger,
  });
}

function buildProxy(o: GateOptions, recorder: LedgerRecorder | undefined): FastifyInstance {
  const { telemetry } = o;
  const approvals = o.approvals ?? o.localApprovals;
  return buildSidecar(o.config, {
    engine: o.engine,
    logger: telemetry.logger,
    metrics: telemetry.metrics,
    // Spans nobody exports are not made: the trace ID is still kept (or made) and passed on (call-trace.ts).
    ...(telemetry.tracing.config.enabled ? { tracing: telemetry.tracing } : {}),
    ...(recorder ? { recorder } : {}),
    ...(approvals ? { approvals } : {}),
  });
}

/** The proxy, its capture listeners, then the admin server; a failure after the proxy listens closes it. */
async function listenAll(config: Readonly<SidecarConfig>, proxy: FastifyInstance, admin: FastifyInstance): Promise<void> {
  await listenOn(proxy, config.listenHost, config.port, 'PORTCULLIS_PORT (--port)');
  try {
    await listenCapture(proxy);
    await listenOn(admin, config.adminHost, config.adminPort, 'PORTCULLIS_ADMIN_PORT (--admin-port)');
  } catch (e) {
    await proxy.close();
    throw e;
  }
}

/** The capture listeners' ports are fixed (the pod's rules name them): one in use stops start-up naming the setting. */
async function listenCapture(proxy: FastifyInstance): Promise<void> {
  try {
    await proxy.capture?.listen();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PortcullisError(ErrorCodes.CONFIG, `cannot listen for captured traffic (${code ?? (e as Error).message}): choose other ports with PORTCULLIS_CAPTURE_LISTEN_PORT, in the rules too`, { setting: 'PORTCULLIS_CAPTURE_LISTEN_PORT' }, { cause: e });
  }
}

/** Resolves on SIGINT or SIGTERM (the long-running commands stop there). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (s: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
