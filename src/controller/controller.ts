/**
 * The controller, wired: informers on PolicyBundles, ActionApprovals and
 * Namespaces; the bundle server and approvals API on plain HTTP; the
 * admission webhooks on HTTPS; leader election for the writers.
 * `startController` listens; `portcullis controller` calls it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { ControllerConfig } from '../config/controller.ts';
import type { PolicyCompiler } from '../policy/types.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import { errorBody, toPortcullisError, httpStatusFor } from '../gate/error-response.ts';
import type { Informer, KubeApi, KubeObject } from './k8s/kube-api.ts';
import { ACTION_APPROVALS, NAMESPACES, POLICY_BUNDLES, type ActionApproval, type PolicyBundle } from './resources.ts';
import { BundleStore } from './bundles/bundle-store.ts';
import { PolicyBundleReconciler } from './bundles/reconciler.ts';
import { BuildCache } from './bundles/build-bundle.ts';
import { LastGoodBundles } from './bundles/last-good.ts';
import { registerBundleRoutes, type BundleAccess } from './server/bundle-routes.ts';
import { BundleSigningKey, resignServed } from './certs/bundle-signing-key.ts';
import { namespaceEnforcement, policyRefusal } from './webhooks/namespace-enforcement.ts';
import { ApprovalService } from './approvals/approval-service.ts';
import { HeadWitnessService } from './witness/head-witness-service.ts';
import type { HeadWitnessStore } from './witness/head-witness-store.ts';
import type { LedgerShippingInjection } from './webhooks/ledger-shipping-injection.ts';
import { CallerAuthenticator } from './approvals/caller-auth.ts';
import { startProxyPage, type ProxyPageServer } from './server/proxy-page-server.ts';
import { openClientCaFile } from './certs/client-ca-file.ts';
import type { MountedFiles } from './certs/mounted-files.ts';
import { registerAdmissionRoutes } from './webhooks/admission.ts';
import { CAPTURE_INIT_NAME } from './webhooks/capture-injection.ts';
import { DEFAULT_INJECTION, NAMESPACE_LABEL, SIDECAR_NAME, type InjectionConfig } from './webhooks/inject.ts';
import { LeaderElector } from './leader-election.ts';
import { MountedCertificates, type WebhookTls, type WebhookTlsSource } from './certs/provider.ts';
import { SelfManagedCertificates } from './certs/self-managed.ts';
import { CaBundleSync } from './certs/ca-bundle-sync.ts';
import { serviceDnsNames } from './certs/x509.ts';

export interface ControllerDeps {
  kube: KubeApi;
  compiler: PolicyCompiler;
  logger: Logger;
  metrics?: PortcullisMetrics;
  clock?: () => Date;
  /** Extra IP SANs for the self-made serving certificate (tests call the webhook on 127.0.0.1). */
  webhookIpAddresses?: string[];
  /** Where witnessed ledger heads are kept (PORTCULLIS_WITNESS_STORE); without it sidecars' heads are not witnessed. */
  witnessStore?: HeadWitnessStore;
  /** Where injected sidecars ship their ledgers (PORTCULLIS_SIDECAR_SHIP_TO); undefined: they keep them on their volume. */
  ledgerShipping?: LedgerShippingInjection;
  /** How often the leader sweeps approvals (default 30 s). */
  sweepIntervalMs?: number;
  /** How often the leader rewrites statuses that differ from what it computed (default 60 s). */
  resyncIntervalMs?: number;
}

export interface RunningController {
  identity: string;
  store: BundleStore;
  reconciler: PolicyBundleReconciler;
  approvals: ApprovalService;
  elector: LeaderElector;
  /** Base URL of the bundle server and approvals API. */
  apiUrl: string;
  webhookPort: number;
  /** Port of the authenticating proxy's approval page (mutual TLS), when configured. */
  approvalProxyPort?: number;
  /** The certificate the webhooks serve now (it is renewed while running). */
  readonly tls: WebhookTls;
  /** PEM public keys sidecars verify bundles with (PORTCULLIS_BUNDLE_PUBLIC_KEY of injected pods), as they are now. */
  readonly bundlePublicKeys: string;
  stop(): Promise<void>;
}

function withErrors(app: FastifyInstance): FastifyInstance {
  app.setErrorHandler((err, _req, reply) => {
    const e = toPortcullisError(err);
    void reply.code((err as { statusCode?: number }).statusCode ?? httpStatusFor(e.code)).send(errorBody(e));
  });
  return app;
}

function leaderElector(config: Readonly<ControllerConfig>, deps: ControllerDeps, onStartedLeading: () => void): LeaderElector {
  return new LeaderElector({
    kube: deps.kube,
    namespace: config.namespace,
    name: config.leaseName,
    identity: config.identity,
    leaseDurationSeconds: config.leaseDurationSeconds,
    renewDeadlineSeconds: Math.max(1, Math.floor((config.leaseDurationSeconds * 2) / 3)),
    retryPeriodSeconds: Math.max(1, Math.floor(config.leaseDurationSeconds / 7)),
    logger: deps.logger,
    onStartedLeading,
  });
}

/** A namespace's labels and annotations as the namespace informer last saw them (copies). */
function namespaceMeta(namespaces: Informer<KubeObject>, ns: string): { labels: Record<string, string>; annotations: Record<string, string> } {
  const meta = namespaces.get(undefined, ns)?.metadata;
  return { labels: { ...(meta?.labels ?? {}) }, annotations: { ...(meta?.annotations ?? {}) } };
}

/** Bundles go to sidecars (their projected token) of a namespace that may use them; open to all with PORTCULLIS_BUNDLE_AUTH=none. */
function bundleAccessFor(config: Readonly<ControllerConfig>, approvals: ApprovalService, namespaces: Informer<KubeObject>): BundleAccess | undefined {
  if (config.bundleAuth !== 'token') return undefined;
  return {
    authenticate: (a) => approvals.authenticate(a),
    refusal: (key, ns) => {
      const { labels, annotations } = namespaceMeta(namespaces, ns);
      return policyRefusal(key, ns, namespaceEnforcement(ns, labels, annotations, NAMESPACE_LABEL));
    },
  };
}

/**
 * Ready once every PolicyBundle listed at start is built: a replica that
 * takes traffic before then would answer sidecars 404 for bundles that exist.
 */
class InitialBuilds {
  readonly listed: string[];
  #done = false;

  constructor(reconciler: PolicyBundleReconciler, logger: Logger) {
    this.listed = reconciler.pendingKeys();
    void reconciler.idle().then(() => {
      this.#done = true;
      logger.info({ bundles: this.listed.length }, 'initial PolicyBundle builds done');
    });
  }

  get done(): boolean {
    return this.#done;
  }
}

function registerProbes(api: FastifyInstance, o: { store: BundleStore; elector: LeaderElector; initial: InitialBuilds; metrics: PortcullisMetrics | undefined }): void {
  const { store, elector, initial, metrics } = o;
  api.get('/healthz', async () => ({ status: 'ok' }));
  api.get('/readyz', async (_req, reply) => {
    if (!initial.done) return reply.code(503).send({ status: 'not ready', reason: `building the ${initial.listed.length} PolicyBundles listed at start`, built: initial.listed.filter((k) => store.keys().includes(k)).length });
    return { status: 'ready', leader: elector.isLeader(), bundles: store.keys().length };
  });
  api.get('/metrics', async (_req, reply) => {
    if (!metrics) return reply.code(404).send({ error: 'metrics are not enabled' });
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

/** The webhooks' serving certificate: mounted files (cert-manager), or made and renewed by the controller. */
function webhookCertificates(config: Readonly<ControllerConfig>, deps: ControllerDeps): WebhookTlsSource {
  const { kube, logger } = deps;
  if (config.certMode === 'files') return new MountedCertificates({ dir: config.webhookCertDir, reloadMs: config.webhookCertReloadMs, logger });
  return new SelfManagedCertificates({
    kube,
    namespace: config.namespace,
    secretName: config.webhookSecret,
    dnsNames: serviceDnsNames(config.serviceName, config.namespace),
    ipAddresses: [...config.webhookIpSans, ...(deps.webhookIpAddresses ?? [])],
    validitySeconds: config.webhookCertValiditySeconds,
    logger,
  });
}

/** In cert-manager mode its CA injector keeps the webhooks' caBundle; in self mode the controller does. */
function caBundleSync(config: Readonly<ControllerConfig>, deps: ControllerDeps): CaBundleSync | undefined {
  if (config.certMode === 'files') return undefined;
  return new CaBundleSync({ kube: deps.kube, logger: deps.logger, configurations: [{ kind: 'mutating', name: config.mutatingWebhook }, { kind: 'validating', name: config.validatingWebhook }] });
}

/** What the injector adds to an annotated pod. */
function injectionFor(config: Readonly<ControllerConfig>, o: { caPem: string; bundlePublicKeys: string; ledgerShipping: LedgerShippingInjection | undefined }): InjectionConfig {
  return {
    ...DEFAULT_INJECTION,
    image: config.sidecarImage,
    imagePullPolicy: config.sidecarImagePullPolicy,
    imagePullSecrets: config.sidecarImagePullSecrets,
    ledgerVolumeSize: config.sidecarLedgerVolumeSize,
    ledgerKeepSegments: config.sidecarLedgerKeepSegments,
    ledgerDurability: config.sidecarLedgerDurability,
    controllerUrl: config.controllerUrl,
    ...(config.sidecarApprovalPageUrl ? { approvalPageUrl: config.sidecarApprovalPageUrl } : {}),
    ...(config.sidecarTls ? { controllerCa: o.caPem } : {}),
    bundlePublicKeys: o.bundlePublicKeys,
    ...(config.sidecarOtelEndpoint ? { otelEndpoint: config.sidecarOtelEndpoint } : {}),
    ...(o.ledgerShipping ? { ledgerShipping: o.ledgerShipping } : {}),
    capture: config.sidecarCapture,
  };
}

/** Container names a pod may not use: the ones the injection adds. */
function reservedContainers(config: Readonly<ControllerConfig>): string[] {
  return [SIDECAR_NAME, ...(config.sidecarCapture ? [CAPTURE_INIT_NAME] : []), ...(config.captureInitContainer ? [config.captureInitContainer] : [])];
}

/** The leader's periodic work; returns what stops it. */
function startPeriodic(o: { approvals: ApprovalService; reconciler: PolicyBundleReconciler; elector: LeaderElector; deps: ControllerDeps }): () => void {
  const { approvals, reconciler, elector, deps } = o;
  const sweep = setInterval(() => void approvals.sweep(), deps.sweepIntervalMs ?? 30_000);
  sweep.unref();
  // A status write that failed (API briefly unavailable) is written again here; watches do not resync by themselves.
  const resync = setInterval(() => {
    if (elector.isLeader()) void reconciler.onLeadership();
  }, deps.resyncIntervalMs ?? 60_000);
  resync.unref();
  return () => {
    clearInterval(sweep);
    clearInterval(resync);
  };
}

function httpUrl(addr: AddressInfo): string {
  return `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
}

/** The authenticating proxy's page listener (PORTCULLIS_APPROVAL_PROXY_CA_FILE), trusting its CA file as it is rotated; or none. */
async function proxyPageFor(config: Readonly<ControllerConfig>, o: { approvals: ApprovalService; kube: KubeApi; tls: WebhookTls; logger: Logger }): Promise<{ page: ProxyPageServer; ca: MountedFiles<string> } | undefined> {
  if (!config.approvalProxyCaFile) return undefined;
  const ca = await openClientCaFile({ path: config.approvalProxyCaFile, reloadMs: config.webhookCertReloadMs, logger: o.logger });
  const headers = { user: config.approvalProxyUserHeader, groups: config.approvalProxyGroupsHeader };
  const scope = { users: config.approvalProxyUsers, groups: config.approvalProxyGroups };
  const page = await startProxyPage(o.approvals, o.kube, { host: config.approvalProxyHost, port: config.approvalProxyPort, clientCaPem: ca.current()!, tls: o.tls, headers, scope, clientNames: config.approvalProxyClientNames }).catch((e: unknown) => {
    ca.stop();
    throw e;
  });
  ca.onChange((pem) => page.setClientCa(pem));
  return { page, ca };
}

export async function startController(config: Readonly<ControllerConfig>, deps: ControllerDeps): Promise<RunningController> {
  const { kube, logger } = deps;
  const store = new BundleStore();
  let reconciler: PolicyBundleReconciler | undefined;
  let approvals: ApprovalService | undefined;
  const elector = leaderElector(config, deps, () => {
    void reconciler?.onLeadership();
    void approvals?.onLeadership();
  });
  const isLeader = (): boolean => elector.isLeader();
  const builds = new BuildCache(deps.compiler);
  const lastGood = new LastGoodBundles(kube, config.namespace);
  // Before the first build: every archive served is signed.
  const signing = await BundleSigningKey.start({ kube, namespace: config.namespace, secretName: config.bundleSigningSecret, logger });
  const bundles = new PolicyBundleReconciler({ kube, compiler: deps.compiler, builds, store, lastGood, logger, metrics: deps.metrics, clock: deps.clock, isLeader, buildConcurrency: config.buildConcurrency, signer: signing.signer });
  const approvalService = new ApprovalService({ kube, logger, isLeader, clock: deps.clock, retentionSeconds: config.approvalRetentionSeconds, authenticator: new CallerAuthenticator({ kube, sidecarImage: config.sidecarImage }) });
  reconciler = bundles;
  approvals = approvalService;

  const informers: Informer<KubeObject>[] = [];
  const onError = (what: string) => (err: unknown) => logger.warn({ err: (err as Error)?.message }, `watch of ${what} failed; restarting it`);
  const namespaces = await kube.informer<KubeObject>(NAMESPACES, { upsert: () => {}, remove: () => {} }, { onError: onError('namespaces') });
  informers.push(namespaces);
  informers.push(await kube.informer<PolicyBundle>(POLICY_BUNDLES, { upsert: (o) => bundles.upsert(o), remove: (o) => bundles.remove(o) }, { onError: onError('PolicyBundles') }));
  const initial = new InitialBuilds(bundles, logger);
  informers.push(await kube.informer<ActionApproval>(ACTION_APPROVALS, { upsert: (o) => approvalService.upsert(o), remove: (o) => approvalService.remove(o) }, { onError: onError('ActionApprovals') }));
  elector.start();

  const api = withErrors(Fastify({ logger: false, bodyLimit: 1024 * 1024, keepAliveTimeout: 65_000, requestTimeout: 0, forceCloseConnections: true }));
  registerProbes(api, { store, elector, initial, metrics: deps.metrics });
  const bundleAccess = bundleAccessFor(config, approvalService, namespaces);
  registerBundleRoutes(api, store, bundleAccess);
  approvalService.register(api);
  // Sidecars' ledger heads, authenticated as approvals callers are (their projected token).
  const witness = deps.witnessStore ? new HeadWitnessService({ store: deps.witnessStore, authenticate: (a) => approvalService.authenticate(a), logger }) : undefined;
  witness?.register(api);

  const certs = webhookCertificates(config, deps);
  const tls = await certs.start();
  const caBundles = caBundleSync(config, deps);
  const missing = (await caBundles?.start(tls.caPem)) ?? [];
  if (missing.length) {
    logger.warn({ missing }, `webhook configurations not found: ${missing.join(', ')}; apply manifests/controller/webhooks.yaml (injection and validation are off until then; their caBundle is set as soon as they appear)`);
  }
  let proxy: { page: ProxyPageServer; ca: MountedFiles<string> } | undefined;
  const webhooks = withErrors(Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 8 * 1024 * 1024, https: { cert: tls.certPem, key: tls.keyPem } }) as unknown as FastifyInstance);
  webhooks.get('/healthz', async () => ({ status: 'ok' }));
  // The same API for sidecars over TLS (PORTCULLIS_SIDECAR_TLS): what they load is then authenticated.
  registerBundleRoutes(webhooks, store, bundleAccess);
  approvalService.register(webhooks);
  witness?.register(webhooks);
  const injection = injectionFor(config, { caPem: tls.caPem, bundlePublicKeys: signing.publicKeysPem, ledgerShipping: deps.ledgerShipping });
  // A changed signing key signs what is served from now on; newly injected sidecars get its public keys.
  signing.onChange((next) => {
    injection.bundlePublicKeys = next.publicKeysPem;
    void resignServed(store, signing.signer);
  });
  // A renewed certificate is served at once, its CA given to newly injected sidecars and to the API server.
  certs.onChange((next) => {
    (webhooks.server as unknown as TlsServer).setSecureContext({ cert: next.certPem, key: next.keyPem });
    proxy?.page.setCertificate(next);
    if (config.sidecarTls) injection.controllerCa = next.caPem;
    void caBundles?.set(next.caPem);
  });
  registerAdmissionRoutes(webhooks, {
    injection,
    builds,
    namespaceLabels: (ns) => ({ 'kubernetes.io/metadata.name': ns, ...namespaceMeta(namespaces, ns).labels }),
    namespaceAnnotations: (ns) => namespaceMeta(namespaces, ns).annotations,
    reservedContainers: reservedContainers(config),
    attestationSigner: signing.signer,
    logger,
  });

  // First: an unreadable proxy CA stops start-up before anything listens.
  proxy = await proxyPageFor(config, { approvals: approvalService, kube, tls, logger });
  const proxyPage = proxy?.page;
  await api.listen({ host: config.listenHost, port: config.port });
  await webhooks.listen({ host: config.webhookHost, port: config.webhookPort });
  const apiAddr = api.server.address() as AddressInfo;
  const stopPeriodic = startPeriodic({ approvals: approvalService, reconciler: bundles, elector, deps });
  logger.info({ api: apiAddr.port, webhooks: (webhooks.server.address() as AddressInfo).port, ...(proxyPage ? { approvalProxy: proxyPage.port } : {}), identity: config.identity }, 'controller started');

  return {
    identity: config.identity,
    store,
    reconciler: bundles,
    approvals: approvalService,
    elector,
    apiUrl: httpUrl(apiAddr),
    webhookPort: (webhooks.server.address() as AddressInfo).port,
    ...(proxyPage ? { approvalProxyPort: proxyPage.port } : {}),
    get tls() {
      return certs.current();
    },
    get bundlePublicKeys() {
      return signing.publicKeysPem;
    },
    async stop() {
      stopPeriodic();
      await signing.stop();
      await certs.stop();
      await caBundles?.stop();
      await elector.stop();
      await Promise.all(informers.map((i) => i.stop()));
      proxy?.ca.stop();
      await Promise.all([api.close(), webhooks.close(), proxyPage?.close()]);
      await bundles.idle();
    },
  };
}
