/**
 * The controller's configuration: read once from the environment (and
 * command-line overrides), validated, frozen. An invalid setting stops
 * start-up with an error that names it.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { CaptureInjection } from '../controller/webhooks/capture-injection.ts';
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
  /** How often the mounted certificate files (cert-manager mode) are checked for a renewal, ms. */
  webhookCertReloadMs: number;
  /** PolicyBundle builds (compile + tests) run at once at most. */
  buildConcurrency: number;
  /** Pull policy of the injected sidecar and capture init containers. */
  sidecarImagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Pull secrets added to injected pods for the sidecar image. */
  sidecarImagePullSecrets: string[];
  /** Size limit of the sidecar's ledger volume (a Kubernetes quantity). */
  sidecarLedgerVolumeSize: string;
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

/** Comma-separated object names (DNS subdomains), e.g. pull secrets. */
function nameList(raw: string, label: string): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(n)) throw fail(label, raw, 'comma-separated Secret names');
  return names;
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

export function loadControllerConfig(env: Env, overrides: ControllerOverrides = {}): Readonly<ControllerConfig> {
  const get = (key: keyof ControllerConfig, name: string, def: string): [string, string] => [overrides[key] ?? env[name] ?? def, overrides[key] !== undefined ? `--${key}` : name];
  const str = (key: keyof ControllerConfig, name: string, def: string): string => get(key, name, def)[0].trim();
  const num = (key: keyof ControllerConfig, name: string, def: string, min: number, max: number): number => {
    const [raw, label] = get(key, name, def);
    return int(label, raw, min, max);
  };
  const namespace = str('namespace', 'PORTCULLIS_NAMESPACE', 'portcullis-system');
  const serviceName = str('serviceName', 'PORTCULLIS_SERVICE_NAME', 'portcullis-controller');
  const port = num('port', 'PORTCULLIS_CONTROLLER_PORT', '8080', 0, 65535);
  const [tlsRaw, tlsLabel] = get('sidecarTls', 'PORTCULLIS_SIDECAR_TLS', 'true');
  if (tlsRaw !== 'true' && tlsRaw !== 'false') throw fail(tlsLabel, tlsRaw, 'true or false');
  const sidecarTls = tlsRaw === 'true';
  const [certRaw, certLabel] = get('certMode', 'PORTCULLIS_WEBHOOK_CERT_MODE', 'self');
  const [authRaw, authLabel] = get('bundleAuth', 'PORTCULLIS_BUNDLE_AUTH', 'token');
  if (authRaw !== 'token' && authRaw !== 'none') throw fail(authLabel, authRaw, 'token or none');
  if (certRaw !== 'self' && certRaw !== 'files') throw fail(certLabel, certRaw, 'self or files');
  const config: ControllerConfig = {
    namespace,
    identity: str('identity', 'PORTCULLIS_POD_NAME', hostname()),
    kubeconfig: str('kubeconfig', 'KUBECONFIG', ''),
    listenHost: str('listenHost', 'PORTCULLIS_CONTROLLER_HOST', '0.0.0.0'),
    port,
    webhookHost: str('webhookHost', 'PORTCULLIS_WEBHOOK_HOST', '0.0.0.0'),
    webhookPort: num('webhookPort', 'PORTCULLIS_WEBHOOK_PORT', '9443', 0, 65535),
    certMode: certRaw,
    webhookCertDir: str('webhookCertDir', 'PORTCULLIS_WEBHOOK_CERT_DIR', '/etc/portcullis/webhook-tls'),
    webhookSecret: str('webhookSecret', 'PORTCULLIS_WEBHOOK_SECRET', 'portcullis-webhook-tls'),
    webhookIpSans: ipList(...get('webhookIpSans', 'PORTCULLIS_WEBHOOK_IP_SANS', '')),
    serviceName,
    mutatingWebhook: str('mutatingWebhook', 'PORTCULLIS_MUTATING_WEBHOOK', 'portcullis-sidecar-injector'),
    validatingWebhook: str('validatingWebhook', 'PORTCULLIS_VALIDATING_WEBHOOK', 'portcullis-policybundle-validator'),
    leaseName: str('leaseName', 'PORTCULLIS_LEASE_NAME', 'portcullis-controller'),
    leaseDurationSeconds: num('leaseDurationSeconds', 'PORTCULLIS_LEASE_DURATION_SECONDS', '15', 2, 300),
    sidecarImage: str('sidecarImage', 'PORTCULLIS_SIDECAR_IMAGE', 'ghcr.io/portcullis/portcullis:0.1.0'),
    controllerUrl: str('controllerUrl', 'PORTCULLIS_CONTROLLER_URL', sidecarTls ? `https://${serviceName}.${namespace}.svc:443` : `http://${serviceName}.${namespace}.svc:8080`),
    sidecarTls,
    bundleSigningSecret: str('bundleSigningSecret', 'PORTCULLIS_BUNDLE_SIGNING_SECRET', 'portcullis-bundle-signing'),
    bundleAuth: authRaw,
    approvalRetentionSeconds: num('approvalRetentionSeconds', 'PORTCULLIS_APPROVAL_RETENTION_SECONDS', '3600', 0, 30 * 86_400),
    sidecarOtelEndpoint: str('sidecarOtelEndpoint', 'PORTCULLIS_SIDECAR_OTEL_ENDPOINT', ''),
    captureInitContainer: str('captureInitContainer', 'PORTCULLIS_CAPTURE_INIT_CONTAINER', ''),
    sidecarCapture: readSidecarCapture(env),
    webhookCertValiditySeconds: num('webhookCertValiditySeconds', 'PORTCULLIS_WEBHOOK_CERT_VALIDITY_SECONDS', String(90 * 86_400), 3, 10 * 365 * 86_400),
    webhookCertReloadMs: num('webhookCertReloadMs', 'PORTCULLIS_WEBHOOK_CERT_RELOAD_MS', '60000', 10, 86_400_000),
    buildConcurrency: num('buildConcurrency', 'PORTCULLIS_BUILD_CONCURRENCY', '2', 1, 64),
    sidecarImagePullPolicy: pullPolicy(...get('sidecarImagePullPolicy', 'PORTCULLIS_SIDECAR_IMAGE_PULL_POLICY', 'IfNotPresent')),
    sidecarImagePullSecrets: nameList(...get('sidecarImagePullSecrets', 'PORTCULLIS_SIDECAR_IMAGE_PULL_SECRETS', '')),
    sidecarLedgerVolumeSize: quantity(...get('sidecarLedgerVolumeSize', 'PORTCULLIS_SIDECAR_LEDGER_VOLUME_SIZE', '256Mi')),
    logLevel: str('logLevel', 'PORTCULLIS_LOG_LEVEL', 'info'),
  };
  if (config.sidecarOtelEndpoint && !/^https?:\/\/[^/\s]+/i.test(config.sidecarOtelEndpoint)) {
    throw fail(get('sidecarOtelEndpoint', 'PORTCULLIS_SIDECAR_OTEL_ENDPOINT', '')[1], config.sidecarOtelEndpoint, 'an http:// or https:// URL (the OTLP/HTTP base, e.g. http://jaeger-collector.observability.svc:4318)');
  }
  return Object.freeze({ ...config, webhookIpSans: Object.freeze(config.webhookIpSans) as string[], sidecarImagePullSecrets: Object.freeze(config.sidecarImagePullSecrets) as string[] });
}
