/**
 * The production controller against the stand-in API server: CRDs-as-types,
 * the webhook configurations from manifests/, a kubeconfig file pointing at
 * the stand-in, and the controller's webhooks reachable (over TLS) at the
 * service the configurations name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { FakeKube, type FakeKubeOptions } from './fake-kube/server.ts';
import { ClientNodeKubeApi } from '../../src/controller/k8s/client-node-kube-api.ts';
import { loadControllerConfig, type ControllerOverrides } from '../../src/config/controller.ts';
import { startController, type RunningController } from '../../src/controller/controller.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { createLogger, type Logger } from '../../src/telemetry/logger.ts';
import type { PolicyCompiler } from '../../src/policy/types.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export function manifest(path: string): any[] {
  return parseAllDocuments(readFileSync(join(ROOT, path), 'utf8')).map((d) => d.toJS()).filter(Boolean);
}

export interface Harness {
  fake: FakeKube;
  kubeconfig: string;
  kube: ClientNodeKubeApi;
  controllers: RunningController[];
  logs: string[];
  logger: Logger;
  startReplica(identity: string): Promise<RunningController>;
  close(): Promise<void>;
}

export async function until<T>(f: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startHarness(
  options: { replicas?: number; compiler?: PolicyCompiler; configOverrides?: ControllerOverrides; users?: FakeKubeOptions['users'] } = {},
): Promise<Harness> {
  const controllers: RunningController[] = [];
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', name: 'controller', destination });
  // The API server reaches "the service": here, the first replica's webhook port.
  const fake = new FakeKube({
    users: options.users,
    bookmarkIntervalMs: 200,
    resolveService: () => ({ host: '127.0.0.1', port: controllers[0]!.webhookPort }),
  });
  await fake.start();
  for (const crd of [...manifest('manifests/crds/policybundles.portcullis.dev.yaml'), ...manifest('manifests/crds/actionapprovals.portcullis.dev.yaml')]) fake.installCrd(crd);
  await fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'portcullis-system' } });
  for (const doc of manifest('manifests/controller/webhooks.yaml')) await fake.apply(doc);
  const kubeconfig = fake.writeKubeconfig('portcullis-system');
  const kube = ClientNodeKubeApi.load(kubeconfig, { restartDelayMs: 50 });
  const compiler = options.compiler ?? new PortcullisCompiler();
  const startReplica = async (identity: string): Promise<RunningController> => {
    const config = loadControllerConfig(
      { KUBECONFIG: kubeconfig, PORTCULLIS_NAMESPACE: 'portcullis-system' },
      { identity, listenHost: '127.0.0.1', port: '0', webhookHost: '127.0.0.1', webhookPort: '0', leaseDurationSeconds: '2', ...options.configOverrides },
    );
    const c = await startController(config, {
      kube: ClientNodeKubeApi.load(kubeconfig, { restartDelayMs: 50 }),
      compiler,
      logger: logger.child({ replica: identity }),
      webhookIpAddresses: ['127.0.0.1'],
      sweepIntervalMs: 200,
    });
    controllers.push(c);
    return c;
  };
  for (let i = 0; i < (options.replicas ?? 1); i++) await startReplica(`controller-${i}`);
  await until(() => controllers.some((c) => c.elector.isLeader()), 'a leader');
  return {
    fake,
    kubeconfig,
    kube,
    controllers,
    logs,
    logger,
    startReplica,
    async close() {
      for (const c of controllers) await c.stop();
      await fake.close();
    },
  };
}
