/**
 * The production controller against a real control plane (etcd +
 * kube-apiserver, test/support/control-plane.ts), installed the way an
 * operator installs it: the CRDs, namespace and RBAC from manifests/ applied
 * with kubectl, the webhook configurations from manifests/ with their service
 * reference turned into a loopback URL (there is no service network), and the
 * controller authenticated as its own ServiceAccount, with a token the API
 * server issued: every call it makes is checked by the real RBAC authorizer
 * against exactly the chart's ClusterRole and Role.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseAllDocuments, stringify } from 'yaml';
import { startControlPlane, freePort, type ControlPlane, type KubectlOptions } from './control-plane.ts';
import { KubeRest } from './kube-rest.ts';
import { ClientNodeKubeApi } from '../../src/controller/k8s/client-node-kube-api.ts';
import { loadControllerConfig, type ControllerOverrides } from '../../src/config/controller.ts';
import { startController, type ControllerDeps, type RunningController } from '../../src/controller/controller.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { createLogger, type Logger } from '../../src/telemetry/logger.ts';
import type { PolicyCompiler } from '../../src/policy/types.ts';
import { until } from './until.ts';

const ROOT = join(import.meta.dirname, '..', '..');
export const SYSTEM_NAMESPACE = 'portcullis-system';
export const VALIDATING_WEBHOOK = 'portcullis-policybundle-validator';

export function manifest(path: string): any[] {
  return parseAllDocuments(readFileSync(join(ROOT, path), 'utf8')).map((d) => d.toJS()).filter(Boolean);
}

export function toYaml(objects: any[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}


/** The webhook configurations of manifests/, pointed at a loopback URL instead of the controller Service. */
export function webhookConfigurations(webhookPort: number): any[] {
  return manifest('manifests/controller/webhooks.yaml').map((config) => ({
    ...config,
    webhooks: config.webhooks.map((hook: any) => ({
      ...hook,
      clientConfig: { url: `https://127.0.0.1:${webhookPort}${hook.clientConfig.service.path}` },
    })),
  }));
}

/** CRDs, the controller namespace and RBAC, as an operator applies them; waits until the CRDs are served. */
export async function installBase(cp: ControlPlane): Promise<void> {
  await cp.kubectlOk(['apply', '-f', join(ROOT, 'manifests/crds')]);
  await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/policybundles.portcullis.dev', 'crd/actionapprovals.portcullis.dev']);
  await cp.kubectlOk(['apply', '-f', join(ROOT, 'manifests/controller/namespace.yaml')]);
  await cp.kubectlOk(['apply', '-f', join(ROOT, 'manifests/controller/rbac.yaml')]);
}

/**
 * A control plane ready for `portcullis controller` processes: the base
 * installed, the webhook configurations pointed at one loopback port, a
 * namespace `agents`, and the controller's kubeconfig.
 */
export async function controlPlaneForProcesses(): Promise<{ cp: ControlPlane; kube: KubeRest; webhookPort: number; kubeconfig: string }> {
  const cp = await startControlPlane();
  const kube = new KubeRest(cp);
  await installBase(cp);
  const webhookPort = await freePort();
  await cp.kubectlOk(['apply', '-f', '-'], { input: toYaml(webhookConfigurations(webhookPort)) });
  await kubectlApply(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'agents' } });
  return { cp, kube, webhookPort, kubeconfig: await controllerKubeconfig(cp) };
}

/** A kubeconfig for the controller's ServiceAccount, with a token from the TokenRequest API. */
export async function controllerKubeconfig(cp: ControlPlane): Promise<string> {
  const token = (await cp.kubectlOk(['create', 'token', 'portcullis-controller', '-n', SYSTEM_NAMESPACE, '--duration=2h'])).trim();
  return cp.tokenKubeconfig('portcullis-controller', token);
}

/**
 * What the controller's Service does in a cluster: one address for the
 * webhooks, spread over the replicas that are up. A TCP relay on loopback
 * (TLS passes through untouched); with no replica up, connections are
 * refused, as a Service with no ready endpoints refuses them.
 */
export async function startServiceRelay(backends: () => number[]): Promise<{ port: number; close(): Promise<void> }> {
  let next = 0;
  const open = new Set<Socket>();
  const track = (s: Socket): Socket => {
    open.add(s);
    s.on('close', () => open.delete(s));
    return s;
  };
  const server: Server = createServer((inbound) => {
    track(inbound);
    const ports = backends();
    if (ports.length === 0) return inbound.destroy();
    const port = ports[next++ % ports.length]!;
    const outbound = track(connect(port, '127.0.0.1'));
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    // The API server keeps its webhook connections alive: end them, or close() waits for ever.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}

export interface Harness {
  cp: ControlPlane;
  kube: KubeRest;
  /** The controller's own kubeconfig (its ServiceAccount token). */
  kubeconfig: string;
  /** Where the webhook configurations point: the relay standing in for the controller's Service. */
  webhookPort: number;
  controllers: RunningController[];
  logs: string[];
  logger: Logger;
  /** `kubectl apply -f -` (or `create` for generateName) of one object; resolves with the stored object, rejects with kubectl's message. */
  apply(obj: any, options?: KubectlOptions): Promise<any>;
  /** Runs f with the validating webhook configuration removed: the one way to store what the webhook refuses. */
  withoutValidation<T>(f: () => Promise<T>): Promise<T>;
  namespace(name: string, labels?: Record<string, string>): Promise<void>;
  startReplica(identity: string): Promise<RunningController>;
  close(): Promise<void>;
}

export async function kubectlApply(cp: ControlPlane, obj: any, options: KubectlOptions = {}): Promise<any> {
  const verb = obj.metadata?.name ? ['apply'] : ['create'];
  const r = await cp.kubectl([...verb, '-f', '-', '-o', 'json'], { ...options, input: JSON.stringify(obj) });
  if (r.code !== 0) throw Object.assign(new Error(r.stderr.trim()), { exitCode: r.code });
  return JSON.parse(r.stdout);
}

export async function startHarness(
  options: { replicas?: number; compiler?: PolicyCompiler; configOverrides?: ControllerOverrides; deps?: Pick<ControllerDeps, 'witnessStore' | 'ledgerShipping'> } = {},
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
  const cp = await startControlPlane();
  const kube = new KubeRest(cp);
  const relay = await startServiceRelay(() => controllers.map((c) => c.webhookPort));
  const webhookPort = relay.port;
  try {
    await installBase(cp);
    await cp.kubectlOk(['apply', '-f', '-'], { input: toYaml(webhookConfigurations(webhookPort)) });
  } catch (e) {
    await relay.close();
    await cp.close();
    throw e;
  }
  const kubeconfig = await controllerKubeconfig(cp);
  const compiler = options.compiler ?? new PortcullisCompiler();
  const startReplica = async (identity: string): Promise<RunningController> => {
    const config = loadControllerConfig(
      { KUBECONFIG: kubeconfig, PORTCULLIS_NAMESPACE: SYSTEM_NAMESPACE },
      {
        identity,
        listenHost: '127.0.0.1',
        port: '0',
        webhookHost: '127.0.0.1',
        webhookPort: '0',
        leaseDurationSeconds: '2',
        ...options.configOverrides,
      },
    );
    const c = await startController(config, {
      kube: ClientNodeKubeApi.load(kubeconfig, { restartDelayMs: 50 }),
      compiler,
      logger: logger.child({ replica: identity }),
      webhookIpAddresses: ['127.0.0.1'],
      sweepIntervalMs: 200,
      ...options.deps,
    });
    controllers.push(c);
    return c;
  };
  for (let i = 0; i < (options.replicas ?? 1); i++) await startReplica(`controller-${i}`);
  await until(() => controllers.some((c) => c.elector.isLeader()), 'a leader').catch(async (e) => {
    for (const c of controllers) await c.stop();
    await relay.close();
    await cp.close();
    throw new Error(`${(e as Error).message}; the controllers logged:\n${logs.slice(-20).join('')}`);
  });
  return {
    cp,
    kube,
    kubeconfig,
    webhookPort,
    controllers,
    logs,
    logger,
    startReplica,
    apply: (obj, o) => kubectlApply(cp, obj, o),
    async withoutValidation(f) {
      const saved = await kube.get('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, VALIDATING_WEBHOOK);
      await kube.delete('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, VALIDATING_WEBHOOK);
      try {
        return await f();
      } finally {
        const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, generation: _g, managedFields: _mf, ...metadata } = saved.metadata;
        await kube.create({ ...saved, metadata });
      }
    },
    async namespace(name, labels) {
      await kubectlApply(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } });
    },
    async close() {
      for (const c of controllers) await c.stop();
      await relay.close();
      await cp.close();
    },
  };
}
