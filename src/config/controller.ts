/**
 * The controller's configuration: read once from the environment (and
 * command-line overrides), validated, frozen. An invalid setting stops
 * start-up with an error that names it.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { CaptureInjection } from '../controller/webhooks/capture-injection.ts';
import type { LedgerDurability } from '../evidence/ledger.ts';
import { readSidecarCapture } from './sidecar-capture.ts';

export interface ControllerConfig {
  /** Namespace the controller runs in (its Lease, Secret and Service live there). */
  namespace: string;
  /** This replica's identity in the leader election. */
  identity: string;
  /** kubeconfig file; empty for the in-cluster service account. */
  kubeconfig: string;
  listenHost: string;
  /** Bundle server and approvals API (plain HTTP inside the cluster). */
  port: number;
  webhookHost: string;
  webhookPort: number;
  /** `self`: generate the CA and patch caBundle; `files`: cert-manager mounts tls.crt/tls.key in webhookCertDir. */
  certMode: 'self' | 'files';
  webhookCertDir: string;
  webhookSecret: string;
  /**
   * IP addresses the self-managed webhook certificate also names, for API
   * servers that reach the webhooks by a `url:` with an IP (a controller run
   * outside the cluster) rather than through the Service.
   */
  webhookIpSans: string[];
  serviceName: string;
  mutatingWebhook: string;
  validatingWebhook: string;
  leaseName: string;
  leaseDurationSeconds: number;
  /** Sidecar image injected into pods. */
  sidecarImage: string;
  /**
   * URL sidecars use to reach this controller; default https://SERVICE.NAMESPACE.svc:443
   * (sidecarTls), or http://SERVICE.NAMESPACE.svc:8080 with PORTCULLIS_SIDECAR_TLS=false.
   */
  controllerUrl: string;
  approvalRetentionSeconds: number;
  /**
   * The approval page as people reach it (PORTCULLIS_SIDECAR_APPROVAL_PAGE_URL):
   * injected sidecars get it as PORTCULLIS_APPROVAL_PAGE_URL, the address MCP
   * clients show; empty: they name the page at controllerUrl.
   */
  sidecarApprovalPageUrl: string;
  /**
   * CA (PEM file) signing the client certificate of the authenticating proxy
   * in front of the approval page (PORTCULLIS_APPROVAL_PROXY_CA_FILE). Set:
   * the controller also listens on approvalProxyPort, mutual TLS, where the
   * page signs people in by the proxy's headers and writes verdicts by
   * impersonation; empty (default): no such listener.
   */
  approvalProxyCaFile: string;
  approvalProxyHost: string;
  approvalProxyPort: number;
  /** Header naming the person (lower case; default x-forwarded-user). */
  approvalProxyUserHeader: string;
  /** Header with the person's groups, comma-separated (lower case; default x-forwarded-groups; empty: none). */
  approvalProxyGroupsHeader: string;
  /**
   * The people the proxy may speak for (PORTCULLIS_APPROVAL_PROXY_USERS,
   * comma-separated): anyone else it names is refused. Empty (default): any
   * name not under `system:`. The chart limits the controller's
   * impersonation grant to the same names.
   */
  approvalProxyUsers: readonly string[];
  /**
   * The groups the proxy may speak for (PORTCULLIS_APPROVAL_PROXY_GROUPS):
   * a person's other groups are dropped before the verdict is written.
   * Empty (default): none, so a verdict is judged on the person's name alone.
   */
  approvalProxyGroups: readonly string[];
  /**
   * Names the proxy's client certificate must carry, as its subject CN or a
   * DNS or URI subject alternative name (PORTCULLIS_APPROVAL_PROXY_CLIENT_NAMES).
   * Empty (default): any certificate the CA signed.
   */
  approvalProxyClientNames: readonly string[];
  /**
   * Sidecars reach the controller over HTTPS (the Service's port 443, the
   * webhook certificate) and are given its CA: the default. false: plain HTTP
   * on 8080, only when set explicitly (PORTCULLIS_SIDECAR_TLS=false).
   */
  sidecarTls: boolean;
  /** Secret (in `namespace`) holding the key bundles are signed with; made at start when missing. */
  bundleSigningSecret: string;
  /**
   * Who may fetch bundles: `token` (default), a sidecar with its projected
   * token, only the bundles its namespace may use; `none`, anyone (for a
   * controller reached only by trusted clients, e.g. tests).
   */
  bundleAuth: 'token' | 'none';
  /**
   * OTLP/HTTP endpoint injected sidecars export their spans to (their
   * OTEL_EXPORTER_OTLP_ENDPOINT); empty: they export none.
   */
  sidecarOtelEndpoint: string;
  /** Name of the traffic-capture init container the injection adds, reserved like the sidecar's; empty: none. */
  captureInitContainer: string;
  /** Traffic capture for injected pods (sidecar-capture.ts); undefined: PORTCULLIS_SIDECAR_CAPTURE=false. */
  sidecarCapture?: CaptureInjection | undefined;
  /** Validity of the self-made webhook certificate, seconds; renewed after two thirds of it. */
  webhookCertValiditySeconds: number;
  /** How often the mounted certificate files (cert-manager mode) and the approval proxy's CA file are checked for a renewal, ms. */
  webhookCertReloadMs: number;
  /** PolicyBundle builds (compile + tests) run at once at most. */
  buildConcurrency: number;
  /** Pull policy of the injected sidecar and capture init containers. */
  sidecarImagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Pull secrets added to injected pods for the sidecar image. */
  sidecarImagePullSecrets: string[];
  /** Size limit of the sidecar's ledger volume (a Kubernetes quantity). */
  sidecarLedgerVolumeSize: string;
  /** Rotated ledger segments a sidecar that does not ship keeps (its PORTCULLIS_LEDGER_KEEP_SEGMENTS); 0: all. */
  sidecarLedgerKeepSegments: number;
  /** The sidecar's PORTCULLIS_LEDGER_DURABILITY: `fsync` (default) or `write` (evidence/ledger.ts). */
  sidecarLedgerDurability: LedgerDurability;
  logLevel: string;
}

type Env = Record<string, string | undefined>;

function fail(name: string, raw: string, expected: string): PortcullisError {
  return new PortcullisError(ErrorCodes.CONFIG, `${name}=${JSON.stringify(raw)} is invalid: expected ${expected}`, { setting: name });
}

function int(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw fail(name, raw, `an integer from ${min} to ${max}`);
  return n;
}

export type ControllerOverrides = Partial<Record<keyof ControllerConfig, string>>;

function pullPolicy(raw: string, label: string): 'Always' | 'IfNotPresent' | 'Never' {
  const v = raw.trim();
  if (v !== 'Always' && v !== 'IfNotPresent' && v !== 'Never') throw fail(label, raw, 'Always, IfNotPresent or Never');
  return v;
}

function ledgerDurability(raw: string, label: string): LedgerDurability {
  if (raw !== 'fsync' && raw !== 'write') throw fail(label, raw, 'fsync or write');
  return raw;
}

function bundleAuth(raw: string, label: string): 'token' | 'none' {
  if (raw !== 'token' && raw !== 'none') throw fail(label, raw, 'token or none');
  return raw;
}

/** Comma-separated object names (DNS subdomains), e.g. pull secrets. */
function nameList(raw: string, label: string): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(n)) throw fail(label, raw, 'comma-separated Secret names');
  return names;
}

/** Comma-separated Kubernetes user or group names the approval proxy may speak for; none under `system:`. */
function subjectNames(raw: string, label: string): string[] {
  const names = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.some((n) => /^system:/i.test(n))) throw fail(label, raw, 'comma-separated user or group names, none under system: (Kubernetes\' own names are never impersonated)');
  return names;
}

/** Comma-separated names a client certificate carries (subject CN, DNS or URI SAN). */
function certificateNames(raw: string, label: string): string[] {
  const names = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.some((n) => /\s/.test(n))) throw fail(label, raw, 'comma-separated certificate names, e.g. oauth2-proxy.auth.svc');
  return names;
}

/** An HTTP header name, lower case (as Node gives them); `optional`: empty allowed. */
function headerName(raw: string, label: string, optional: boolean): string {
  const v = raw.trim().toLowerCase();
  if (!(v === '' && optional) && !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(v)) throw fail(label, raw, 'an HTTP header name such as X-Forwarded-User');
  return v;
}

/** A Kubernetes quantity such as 256Mi or 1G. */
function quantity(raw: string, label: string): string {
  const v = raw.trim();
  if (!/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.test(v)) throw fail(label, raw, 'a quantity such as 256Mi or 1Gi');
  return v;
}

function ipList(raw: string, label: string): string[] {
  const ips = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = ips.find((ip) => isIP(ip) === 0);
  if (bad !== undefined) throw fail(label, raw, 'a comma-separated list of IP addresses, e.g. 127.0.0.1,10.0.0.5');
  return ips;
}

/**
 * Reads settings: the flag given for one, else its variable, else its
 * default; the label an error names is where the value came from.
 */
class SettingReader {
  readonly #env: Env;
  readonly #overrides: ControllerOverrides;

  constructor(env: Env, overrides: ControllerOverrides) {
    this.#env = env;
    this.#overrides = overrides;
  }

  /** The raw value and its label. */
  get(key: keyof ControllerConfig, name: string, def: string): [string, string] {
    const flag = this.#overrides[key];
    return flag !== undefined ? [flag, `--${key}`] : [this.#env[name] ?? def, name];
  }

  str(key: keyof ControllerConfig, name: string, def: string): string {
    return this.get(key, name, def)[0].trim();
  }

  num(key: keyof ControllerConfig, name: string, range: { def: string; min: number; max: number }): number {
    const [raw, label] = this.get(key, name, range.def);
    return int(label, raw, range.min, range.max);
  }

  /** One of two words (true or false, self or files, …); the first is the default. */
  choice<T extends string>(key: keyof ControllerConfig, name: string, allowed: readonly [T, T]): T {
    const [raw, label] = this.get(key, name, allowed[0]);
    if (!(allowed as readonly string[]).includes(raw)) throw fail(label, raw, allowed.join(' or '));
    return raw as T;
  }
}

export function loadControllerConfig(env: Env, overrides: ControllerOverrides = {}): Readonly<ControllerConfig> {
  const r = new SettingReader(env, overrides);
  const namespace = r.str('namespace', 'PORTCULLIS_NAMESPACE', 'portcullis-system');
  const serviceName = r.str('serviceName', 'PORTCULLIS_SERVICE_NAME', 'portcullis-controller');
  const port = r.num('port', 'PORTCULLIS_CONTROLLER_PORT', { def: '8080', min: 0, max: 65535 });
  const sidecarTls = r.choice('sidecarTls', 'PORTCULLIS_SIDECAR_TLS', ['true', 'false']) === 'true';
  const bundleAuth = r.choice('bundleAuth', 'PORTCULLIS_BUNDLE_AUTH', ['token', 'none']);
  const certMode = r.choice('certMode', 'PORTCULLIS_WEBHOOK_CERT_MODE', ['self', 'files']);
  const config: ControllerConfig = {
    namespace,
    identity: r.str('identity', 'PORTCULLIS_POD_NAME', hostname()),
    kubeconfig: r.str('kubeconfig', 'KUBECONFIG', ''),
    listenHost: r.str('listenHost', 'PORTCULLIS_CONTROLLER_HOST', '0.0.0.0'),
    port,
    webhookHost: r.str('webhookHost', 'PORTCULLIS_WEBHOOK_HOST', '0.0.0.0'),
    webhookPort: r.num('webhookPort', 'PORTCULLIS_WEBHOOK_PORT', { def: '9443', min: 0, max: 65535 }),
    certMode,
    webhookCertDir: r.str('webhookCertDir', 'PORTCULLIS_WEBHOOK_CERT_DIR', '/etc/portcullis/webhook-tls'),
    webhookSecret: r.str('webhookSecret', 'PORTCULLIS_WEBHOOK_SECRET', 'portcullis-webhook-tls'),
    webhookIpSans: ipList(...r.get('webhookIpSans', 'PORTCULLIS_WEBHOOK_IP_SANS', '')),
    serviceName,
    mutatingWebhook: r.str('mutatingWebhook', 'PORTCULLIS_MUTATING_WEBHOOK', 'portcullis-sidecar-injector'),
    validatingWebhook: r.str('validatingWebhook', 'PORTCULLIS_VALIDATING_WEBHOOK', 'portcullis-policybundle-validator'),
    leaseName: r.str('leaseName', 'PORTCULLIS_LEASE_NAME', 'portcullis-controller'),
    leaseDurationSeconds: r.num('leaseDurationSeconds', 'PORTCULLIS_LEASE_DURATION_SECONDS', { def: '15', min: 2, max: 300 }),
    sidecarImage: r.str('sidecarImage', 'PORTCULLIS_SIDECAR_IMAGE', 'ghcr.io/portcullis/portcullis:0.1.0'),
    controllerUrl: r.str('controllerUrl', 'PORTCULLIS_CONTROLLER_URL', sidecarTls ? `https://${serviceName}.${namespace}.svc:443` : `http://${serviceName}.${namespace}.svc:8080`),
    sidecarTls,
    bundleSigningSecret: r.str('bundleSigningSecret', 'PORTCULLIS_BUNDLE_SIGNING_SECRET', 'portcullis-bundle-signing'),
    bundleAuth,
    approvalRetentionSeconds: r.num('approvalRetentionSeconds', 'PORTCULLIS_APPROVAL_RETENTION_SECONDS', { def: '3600', min: 0, max: 30 * 86_400 }),
    sidecarOtelEndpoint: r.str('sidecarOtelEndpoint', 'PORTCULLIS_SIDECAR_OTEL_ENDPOINT', ''),
    sidecarApprovalPageUrl: r.str('sidecarApprovalPageUrl', 'PORTCULLIS_SIDECAR_APPROVAL_PAGE_URL', ''),
    approvalProxyCaFile: r.str('approvalProxyCaFile', 'PORTCULLIS_APPROVAL_PROXY_CA_FILE', ''),
    approvalProxyHost: r.str('approvalProxyHost', 'PORTCULLIS_APPROVAL_PROXY_HOST', '0.0.0.0'),
    approvalProxyPort: r.num('approvalProxyPort', 'PORTCULLIS_APPROVAL_PROXY_PORT', { def: '8443', min: 0, max: 65535 }),
    approvalProxyUserHeader: headerName(...r.get('approvalProxyUserHeader', 'PORTCULLIS_APPROVAL_PROXY_USER_HEADER', 'x-forwarded-user'), false),
    approvalProxyGroupsHeader: headerName(...r.get('approvalProxyGroupsHeader', 'PORTCULLIS_APPROVAL_PROXY_GROUPS_HEADER', 'x-forwarded-groups'), true),
    approvalProxyUsers: Object.freeze(subjectNames(...r.get('approvalProxyUsers', 'PORTCULLIS_APPROVAL_PROXY_USERS', ''))),
    approvalProxyGroups: Object.freeze(subjectNames(...r.get('approvalProxyGroups', 'PORTCULLIS_APPROVAL_PROXY_GROUPS', ''))),
    approvalProxyClientNames: Object.freeze(certificateNames(...r.get('approvalProxyClientNames', 'PORTCULLIS_APPROVAL_PROXY_CLIENT_NAMES', ''))),
    captureInitContainer: r.str('captureInitContainer', 'PORTCULLIS_CAPTURE_INIT_CONTAINER', ''),
    sidecarCapture: readSidecarCapture(env),
    webhookCertValiditySeconds: r.num('webhookCertValiditySeconds', 'PORTCULLIS_WEBHOOK_CERT_VALIDITY_SECONDS', { def: String(90 * 86_400), min: 3, max: 10 * 365 * 86_400 }),
    webhookCertReloadMs: r.num('webhookCertReloadMs', 'PORTCULLIS_WEBHOOK_CERT_RELOAD_MS', { def: '60000', min: 10, max: 86_400_000 }),
    buildConcurrency: r.num('buildConcurrency', 'PORTCULLIS_BUILD_CONCURRENCY', { def: '2', min: 1, max: 64 }),
    sidecarImagePullPolicy: pullPolicy(...r.get('sidecarImagePullPolicy', 'PORTCULLIS_SIDECAR_IMAGE_PULL_POLICY', 'IfNotPresent')),
    sidecarImagePullSecrets: nameList(...r.get('sidecarImagePullSecrets', 'PORTCULLIS_SIDECAR_IMAGE_PULL_SECRETS', '')),
    sidecarLedgerVolumeSize: quantity(...r.get('sidecarLedgerVolumeSize', 'PORTCULLIS_SIDECAR_LEDGER_VOLUME_SIZE', '256Mi')),
    sidecarLedgerKeepSegments: r.num('sidecarLedgerKeepSegments', 'PORTCULLIS_SIDECAR_LEDGER_KEEP_SEGMENTS', { def: '2', min: 0, max: 1_000_000 }),
    sidecarLedgerDurability: ledgerDurability(...r.get('sidecarLedgerDurability', 'PORTCULLIS_SIDECAR_LEDGER_DURABILITY', 'fsync')),
    logLevel: r.str('logLevel', 'PORTCULLIS_LOG_LEVEL', 'info'),
  };
  if (config.sidecarOtelEndpoint && !/^https?:\/\/[^/\s]+/i.test(config.sidecarOtelEndpoint)) {
    throw fail(r.get('sidecarOtelEndpoint', 'PORTCULLIS_SIDECAR_OTEL_ENDPOINT', '')[1], config.sidecarOtelEndpoint, 'an http:// or https:// URL (the OTLP/HTTP base, e.g. http://jaeger-collector.observability.svc:4318)');
  }
  if (config.sidecarApprovalPageUrl && !/^https?:\/\/[^/\s]+/i.test(config.sidecarApprovalPageUrl)) {
    throw fail(r.get('sidecarApprovalPageUrl', 'PORTCULLIS_SIDECAR_APPROVAL_PAGE_URL', '')[1], config.sidecarApprovalPageUrl, 'an http:// or https:// URL (the approval page as people open it, e.g. https://portcullis.example.com/approvals/)');
  }
  return Object.freeze({ ...config, webhookIpSans: Object.freeze(config.webhookIpSans) as string[], sidecarImagePullSecrets: Object.freeze(config.sidecarImagePullSecrets) as string[] });
}
