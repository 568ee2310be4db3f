/** `portcullis controller`: runs the Kubernetes controller (design.md §6). */
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { reportError } from './policy-cli.ts';
import type { ControllerOverrides } from '../../config/controller.ts';
import type { HeadWitnessStore } from '../../controller/witness/head-witness-store.ts';
import type { S3Client } from '../../evidence/shipping/s3-client.ts';

const usage = `Usage: portcullis controller [--kubeconfig PATH] [--namespace NS] [--port N] [--webhook-port N]

Runs the Portcullis controller: compiles and tests PolicyBundles and writes
their status, serves compiled bundles to sidecars (GET /v1/bundles/NS/NAME,
long polling), serves the approvals API, and runs the admission webhooks
(sidecar injection, PolicyBundle validation) on HTTPS. Several replicas may
run: a Lease elects the one that writes status; every replica serves.

Options (each also an environment variable):
  --kubeconfig PATH     KUBECONFIG; default in-cluster service account
  --namespace NS        PORTCULLIS_NAMESPACE (default portcullis-system)
  --port N              PORTCULLIS_CONTROLLER_PORT: bundles and approvals (default 8080)
  --webhook-port N      PORTCULLIS_WEBHOOK_PORT: admission webhooks, HTTPS (default 9443)

Other settings: PORTCULLIS_WEBHOOK_CERT_MODE (self | files), PORTCULLIS_WEBHOOK_CERT_DIR,
PORTCULLIS_WEBHOOK_SECRET, PORTCULLIS_SERVICE_NAME, PORTCULLIS_MUTATING_WEBHOOK,
PORTCULLIS_VALIDATING_WEBHOOK, PORTCULLIS_LEASE_NAME, PORTCULLIS_LEASE_DURATION_SECONDS,
PORTCULLIS_SIDECAR_IMAGE, PORTCULLIS_CONTROLLER_URL (what sidecars are given),
PORTCULLIS_APPROVAL_RETENTION_SECONDS, PORTCULLIS_POD_NAME (identity), PORTCULLIS_LOG_LEVEL,
PORTCULLIS_COMPILER (portcullis | opa).`;

export const command: Command = {
  summary: 'Run the Kubernetes controller (bundles, webhooks, approvals)',
  usage,
  async run(argv, io) {
    const parsed = parseCommandArgs(io, 'controller', usage, {
      args: argv,
      options: { kubeconfig: { type: 'string' }, namespace: { type: 'string' }, port: { type: 'string' }, 'webhook-port': { type: 'string' } },
    });
    if (typeof parsed === 'number') return parsed;
    try {
      const { loadControllerConfig } = await import('../../config/controller.ts');
      const config = loadControllerConfig(io.env, flagOverrides(parsed.values));
      const { createLogger } = await import('../../telemetry/logger.ts');
      const { createMetrics } = await import('../../telemetry/metrics.ts');
      const { selectCompiler } = await import('../../policy/compiler.ts');
      const { ClientNodeKubeApi } = await import('../../controller/k8s/client-node-kube-api.ts');
      const { startController } = await import('../../controller/controller.ts');
      const { untilSignal } = await import('../../sidecar/serve.ts');
      const logger = createLogger({ level: config.logLevel, name: 'controller' });
      const witness = await witnessStoreFor(io.env);
      const { loadSidecarShippingConfig } = await import('../../config/sidecar-shipping.ts');
      const ledgerShipping = loadSidecarShippingConfig(io.env);
      const controller = await startController(config, {
        ...(witness ? { witnessStore: witness.store } : {}),
        ...(ledgerShipping ? { ledgerShipping } : {}),
        kube: ClientNodeKubeApi.load(config.kubeconfig || undefined),
        compiler: await selectCompiler(io.env),
        logger,
        metrics: createMetrics({ defaultLabels: { component: 'controller' } }),
      });
      const signal = await untilSignal();
      logger.info({ signal }, 'stopping');
      await controller.stop();
      await witness?.client.close();
      return 0;
    } catch (e) {
      return reportError(io, 'controller', e);
    }
  },
};

interface ControllerFlags {
  kubeconfig?: string;
  namespace?: string;
  port?: string;
  'webhook-port'?: string;
}

/** The flags given, as overrides of their environment variables. */
function flagOverrides(v: ControllerFlags): ControllerOverrides {
  const pairs: [keyof ControllerOverrides, string | undefined][] = [
    ['kubeconfig', v.kubeconfig],
    ['namespace', v.namespace],
    ['port', v.port],
    ['webhookPort', v['webhook-port']],
  ];
  return Object.fromEntries(pairs.filter(([, value]) => value !== undefined));
}

/** The store of witnessed ledger heads, when one is configured, and the client to close on the way out. */
async function witnessStoreFor(env: NodeJS.ProcessEnv): Promise<{ store: HeadWitnessStore; client: S3Client } | undefined> {
  const { loadWitnessStoreConfig } = await import('../../config/witness-store.ts');
  const witness = loadWitnessStoreConfig(env);
  if (!witness) return undefined;
  const s3 = await import('../../evidence/shipping/s3-client.ts');
  const { ObjectStoreHeadWitnessStore } = await import('../../controller/witness/head-witness-store.ts');
  const client = new s3.S3Client(witness.access);
  return { store: new ObjectStoreHeadWitnessStore(client, witness.location), client };
}
