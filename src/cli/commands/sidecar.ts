/**
 * `portcullis sidecar`: the in-cluster role. The same gate as local mode, with
 * its bundle followed from the controller (long polling, digest-checked) and
 * escalations sent to the controller's approvals API. Configuration comes
 * from the environment the injection webhook sets (PORTCULLIS_*).
 */
import type { Command, CommandIO } from '../command.ts';
import { usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';
import { dirname, join } from 'node:path';
import type { SidecarConfig } from '../../config/config.ts';
import type { BundleVerificationKey } from '../../policy/bundle-signing.ts';

const usage = `Usage: portcullis sidecar

Runs the gate in an agent's pod. Reads its configuration from the environment:
  PORTCULLIS_CONTROLLER_URL   the controller's base URL (required)
  PORTCULLIS_BUNDLE           NAMESPACE/NAME of the PolicyBundle (required)
  PORTCULLIS_CONTROLLER_CA    PEM text of the CA to trust for an https controller URL
  PORTCULLIS_BUNDLE_PUBLIC_KEY  PEM text of the ed25519 key(s) bundles must be signed
                              with (required; PORTCULLIS_ACCEPT_UNSIGNED_BUNDLES=true
                              loads unsigned bundles instead, explicitly)
  PORTCULLIS_CONTROLLER_TOKEN_FILE  the projected token sent to the controller
  PORTCULLIS_MODE, PORTCULLIS_PORT, PORTCULLIS_ADMIN_PORT, PORTCULLIS_LEDGER, …
Until the first bundle arrives every call is denied (fail closed) and /readyz
answers 503.`;

/**
 * The settings `sidecar` cannot run without, checked; returns the keys bundles
 * must be signed with, or undefined when unsigned bundles were accepted explicitly.
 */
async function checkedSidecarSettings(config: Readonly<SidecarConfig>): Promise<BundleVerificationKey[] | undefined> {
  const { ErrorCodes, PortcullisError } = await import('../../errors.ts');
  for (const [value, name] of [[config.controllerUrl, 'PORTCULLIS_CONTROLLER_URL'], [config.bundleName, 'PORTCULLIS_BUNDLE']] as const) {
    if (!value) throw new PortcullisError(ErrorCodes.CONFIG, `${name} is not set; the sidecar needs it to fetch its bundle`, { setting: name });
  }
  if (config.bundlePublicKey) {
    const { parseBundleVerificationKeys } = await import('../../policy/bundle-signing.ts');
    return parseBundleVerificationKeys(config.bundlePublicKey, 'PORTCULLIS_BUNDLE_PUBLIC_KEY');
  }
  if (config.acceptUnsignedBundles) return undefined;
  throw new PortcullisError(
    ErrorCodes.CONFIG,
    "PORTCULLIS_BUNDLE_PUBLIC_KEY is not set: the sidecar verifies every bundle against the controller's key (the injector sets it); set PORTCULLIS_ACCEPT_UNSIGNED_BUNDLES=true to load unsigned bundles instead",
    { setting: 'PORTCULLIS_BUNDLE_PUBLIC_KEY' },
  );
}

/** Where the last bundle is kept: on the ledger's volume (the sidecar's own) unless set elsewhere; empty: nowhere. */
function keptBundleFile(config: Readonly<SidecarConfig>): string {
  if (config.lastBundleFile) return config.lastBundleFile;
  return config.ledgerFile ? join(dirname(config.ledgerFile), 'last-bundle.tar.gz') : '';
}

export const command: Command = {
  summary: 'Run the gate as a pod sidecar, with bundles from the controller',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    if (argv.length > 0) return usageError(io, 'sidecar', `unexpected arguments: ${argv.join(' ')} (configure with PORTCULLIS_* variables)`, usage);
    try {
      const { controllerConnection, engineOptions, loadConfig } = await import('../../config/config.ts');
      const config = loadConfig(io.env);
      const verificationKeys = await checkedSidecarSettings(config);
      const { OpaWasmEngine } = await import('../../policy/engine.ts');
      const { BundleClient } = await import('../../sidecar/bundle-client.ts');
      const { ControllerApprovalBroker } = await import('../../sidecar/controller-approvals.ts');
      const { createTelemetry, startGate, untilSignal } = await import('../../sidecar/serve.ts');
      const telemetry = await createTelemetry(config, io.env, 'sidecar');
      const engine = new OpaWasmEngine(engineOptions(config));
      const approvals = new ControllerApprovalBroker({
        ...controllerConnection(config),
        ...(config.controllerTokenFile ? { tokenFile: config.controllerTokenFile } : {}),
        logger: telemetry.logger,
        policyDigest: () => engine.current()?.digest,
        // The keys bundles are verified with also verify who decided a held call.
        attestationKeys: verificationKeys,
      });
      const keptBundle = keptBundleFile(config);
      const client = new BundleClient({
        ...controllerConnection(config),
        bundle: config.bundleName,
        engine,
        logger: telemetry.logger,
        metrics: telemetry.metrics,
        ...(keptBundle ? { lastBundleFile: keptBundle } : {}),
        verificationKeys,
        ...(config.controllerTokenFile ? { tokenFile: config.controllerTokenFile } : {}),
      });
      const { loadShippingConfig } = await import('../../config/shipping.ts');
      const gate = await startGate({ config, engine, telemetry, approvals, shipping: loadShippingConfig(io.env, config), bundleStatus: () => client.readiness() });
      client.start();
      if (!verificationKeys) telemetry.logger.warn({ setting: 'PORTCULLIS_ACCEPT_UNSIGNED_BUNDLES' }, 'bundles are loaded without a signature check: anyone on the path to the controller can change the policy');
      telemetry.logger.info({ proxy: gate.proxyUrl, admin: gate.adminUrl, bundle: config.bundleName, mode: config.modeFromBundle ? 'from the bundle (PolicyBundle spec.mode), else enforce' : config.mode }, `sidecar gating on ${gate.proxyUrl} (admin ${gate.adminUrl})`);
      const signal = await untilSignal();
      telemetry.logger.info({ signal }, 'sidecar stopping');
      await client.stop();
      await gate.close();
      await approvals.close();
      return 0;
    } catch (e) {
      return reportError(io, 'sidecar', e);
    }
  },
};
