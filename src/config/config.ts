/**
 * The sidecar's configuration: read once, validated, frozen. This module is
 * the only reader of `process.env` (callers pass the environment in). Every
 * setting has a default and an environment variable `PORTCULLIS_*`; command
 * line flags override the environment. An invalid setting stops start-up with
 * an error that names it.
 */
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { Mode } from '../gate/types.ts';
import type { LedgerDurability } from '../evidence/ledger.ts';
import { DEFAULT_REDACTED_HEADERS } from '../gate/headers.ts';
import { readCaptureConfig, type CaptureConfig } from './capture.ts';
import { readCredentialSources, type CredentialSources } from './credentials.ts';
import { parseBundleVerificationKeys } from '../policy/bundle-signing.ts';

export interface AgentConfig {
  namespace: string;
  pod: string;
  serviceAccount: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface SidecarConfig {
  mode: Mode;
  /**
   * No mode was set (PORTCULLIS_MODE or --mode): the loaded bundle's mode
   * (PolicyBundle spec.mode) applies, `mode` (enforce) when it has none.
   */
  modeFromBundle?: boolean;
  /** Address the proxy and the admin server bind to. */
  listenHost: string;
  port: number;
  adminHost: string;
  adminPort: number;
  /** Largest request body the proxy reads (413 above). */
  bodyLimitBytes: number;
  /** Evaluations slower than this are logged; time never refuses a call (the step budget bounds evaluations). */
  evalSlowMs: number;
  /** Upstream timeout when the decision sets none. */
  upstreamTimeoutMs: number;
  /** A client must send its headers within this time (slow-client guard). */
  headersTimeoutMs: number;
  /** A client must send its whole request within this time. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections from agents are closed after this. */
  keepAliveTimeoutMs: number;
  /** An allowed CONNECT tunnel with no traffic either way for this long is closed. */
  tunnelIdleTimeoutMs: number;
  /** Escalations whose policy sets no timeout wait this long, then are denied. */
  escalationTimeoutSeconds: number;
  /** Upstream connections kept per origin. */
  upstreamConnections: number;
  /** Header names whose values the policy and the records only see hashed. */
  redactHeaders: readonly string[];
  /** JSON-lines ledger file; empty for none. */
  ledgerFile: string;
  /** The ledger rotates to a numbered segment past this size; 0 never rotates. */
  ledgerMaxBytes: number;
  /**
   * Without shipping: rotated segments kept (the newest), older ones deleted
   * (segment-retention.ts). 0: all are kept. Injected sidecars get 2.
   */
  ledgerKeepSegments: number;
  /**
   * When a call may run: once its intent is on stable storage (`fsync`, the
   * default), or once it is written to the ledger file (`write`: survives the
   * gate's crash, synced within ledgerSyncIntervalMs; evidence/ledger.ts).
   */
  ledgerDurability: LedgerDurability;
  /** With `write` durability: the longest an entry waits for its fdatasync. */
  ledgerSyncIntervalMs: number;
  /** PEM ed25519 private key signing ledger heads; empty for unsigned. */
  ledgerSigningKey: string;
  /** Policy directory (local mode). */
  policiesDir: string;
  /** Controller base URL (in-cluster mode). */
  controllerUrl: string;
  /**
   * CA the sidecar trusts for an https controllerUrl, as PEM text (one or more
   * CERTIFICATE blocks), not a file path: the injection webhook sets it inline
   * as PORTCULLIS_CONTROLLER_CA, so no volume is needed. Empty: the system CAs.
   * Each block must parse as an X.509 certificate, and a CA given with a plain
   * http controllerUrl is refused (it would silently protect nothing).
   */
  controllerCa: string;
  /**
   * Projected service account token (audience portcullis.dev) the sidecar
   * sends to the controller's approvals API; set by the injector. Empty: none.
   */
  controllerTokenFile: string;
  /**
   * Where the sidecar keeps the last bundle it loaded from the controller, to
   * enforce after a restart while the controller is unreachable. Empty: beside
   * the ledger (`last-bundle.tar.gz`) when there is one, else nowhere.
   */
  lastBundleFile: string;
  /**
   * PEM text of the ed25519 public keys (one or more PUBLIC KEY blocks) that
   * bundles from the controller must be signed with; set by the injector.
   * Empty: `portcullis sidecar` refuses to start unless acceptUnsignedBundles.
   */
  bundlePublicKey: string;
  /** `portcullis sidecar` loads bundles without a signature (PORTCULLIS_ACCEPT_UNSIGNED_BUNDLES=true, explicit only). */
  acceptUnsignedBundles: boolean;
  /**
   * The approval page people open, as an absolute URL (the controller's
   * `/approvals/` behind whatever the platform exposes); a URL elicitation
   * names it with `?id=APPROVAL_ID`. Empty: this gate's own admin port.
   */
  approvalPageUrl: string;
  /** Local mode: the file holding the admin token that approvals need (`portcullis dev` writes it). Empty: approvals are off. */
  adminTokenFile: string;
  /** Local mode: group → comma-separated users, for approvers named `group:NAME`. */
  approverGroups: Record<string, string>;
  /** Bundle name: the policy directory locally, `namespace/name` on Kubernetes. */
  bundleName: string;
  logLevel: string;
  /** Steps one policy evaluation may take before it fails closed with POLICY_TIMEOUT. */
  policyMaxSteps: number;
  /**
   * A builtin's error fails the evaluation (true, fail closed) or makes that
   * call undefined as OPA's non-strict mode does (false).
   */
  policyStrictBuiltinErrors: boolean;
  agent: AgentConfig;
  /** Traffic capture (src/config/capture.ts); absent: none. */
  capture?: CaptureConfig;
  /** Where tool credentials are found (src/config/credentials.ts); absent: none. */
  credentials?: CredentialSources;
}

type Env = Record<string, string | undefined>;
type Parser<T> = (raw: string, name: string) => T;

function configError(name: string, raw: string, expected: string): PortcullisError {
  return new PortcullisError(ErrorCodes.CONFIG, `${name}=${JSON.stringify(raw)} is invalid: expected ${expected}`, { setting: name });
}

const int = (min: number, max: number): Parser<number> => (raw, name) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw configError(name, raw, `an integer from ${min} to ${max}`);
  return n;
};
const port = int(0, 65535);
const str: Parser<string> = (raw) => raw.trim();
const oneOf = <T extends string>(...values: T[]): Parser<T> => (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (!(values as string[]).includes(v)) throw configError(name, raw, `one of ${values.join(', ')}`);
  return v as T;
};
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const pemCertificates: Parser<string> = (raw, name) => {
  const text = raw.trim();
  if (!text) return '';
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  const invalid = (why: string): PortcullisError =>
    new PortcullisError(ErrorCodes.CONFIG, `${name} is invalid: ${why}; expected PEM text of one or more CERTIFICATE blocks (not a file path)`, { setting: name });
  if (blocks.length === 0) throw invalid('no -----BEGIN CERTIFICATE----- block');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw invalid(`a certificate does not parse (${(e as Error).message})`);
    }
  }
  return text + '\n';
};
const publicKeys: Parser<string> = (raw, name) => {
  const text = raw.trim();
  if (!text) return '';
  parseBundleVerificationKeys(text, name);
  return text + '\n';
};
const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw configError(name, raw, 'true or false');
};
const list: Parser<string[]> = (raw) => raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
const stringMap: Parser<Record<string, string>> = (raw, name) => {
  if (!raw.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw configError(name, raw, 'a JSON object of strings');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw configError(name, raw, 'a JSON object of strings');
  }
  return v as Record<string, string>;
};

/** Every setting: its key in overrides, its environment variable, its default and parser. */
const SETTINGS = {
  mode: { env: 'PORTCULLIS_MODE', def: 'enforce', parse: oneOf<Mode>('enforce', 'observe') },
  listenHost: { env: 'PORTCULLIS_LISTEN_HOST', def: '127.0.0.1', parse: str },
  port: { env: 'PORTCULLIS_PORT', def: '7070', parse: port },
  adminHost: { env: 'PORTCULLIS_ADMIN_HOST', def: '127.0.0.1', parse: str },
  adminPort: { env: 'PORTCULLIS_ADMIN_PORT', def: '7071', parse: port },
  bodyLimitBytes: { env: 'PORTCULLIS_BODY_LIMIT_BYTES', def: String(1024 * 1024), parse: int(1, 1024 ** 3) },
  evalSlowMs: { env: 'PORTCULLIS_EVAL_SLOW_MS', def: '100', parse: int(1, 60_000) },
  upstreamTimeoutMs: { env: 'PORTCULLIS_UPSTREAM_TIMEOUT_MS', def: '30000', parse: int(1, 3_600_000) },
  headersTimeoutMs: { env: 'PORTCULLIS_HEADERS_TIMEOUT_MS', def: '10000', parse: int(1, 600_000) },
  requestTimeoutMs: { env: 'PORTCULLIS_REQUEST_TIMEOUT_MS', def: '30000', parse: int(1, 3_600_000) },
  keepAliveTimeoutMs: { env: 'PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS', def: '5000', parse: int(1, 600_000) },
  tunnelIdleTimeoutMs: { env: 'PORTCULLIS_TUNNEL_IDLE_TIMEOUT_MS', def: '300000', parse: int(1, 86_400_000) },
  escalationTimeoutSeconds: { env: 'PORTCULLIS_ESCALATION_TIMEOUT_SECONDS', def: '300', parse: int(1, 86_400) },
  upstreamConnections: { env: 'PORTCULLIS_UPSTREAM_CONNECTIONS', def: '64', parse: int(1, 10_000) },
  redactHeaders: { env: 'PORTCULLIS_REDACT_HEADERS', def: DEFAULT_REDACTED_HEADERS.join(','), parse: list },
  ledgerFile: { env: 'PORTCULLIS_LEDGER', def: '', parse: str },
  ledgerMaxBytes: { env: 'PORTCULLIS_LEDGER_MAX_BYTES', def: String(64 * 1024 * 1024), parse: int(0, 2 ** 50) },
  ledgerSigningKey: { env: 'PORTCULLIS_LEDGER_SIGNING_KEY', def: '', parse: str },
  ledgerKeepSegments: { env: 'PORTCULLIS_LEDGER_KEEP_SEGMENTS', def: '0', parse: int(0, 1_000_000) },
  ledgerDurability: { env: 'PORTCULLIS_LEDGER_DURABILITY', def: 'fsync', parse: oneOf<LedgerDurability>('fsync', 'write') },
  ledgerSyncIntervalMs: { env: 'PORTCULLIS_LEDGER_SYNC_INTERVAL_MS', def: '100', parse: int(1, 60_000) },
  policiesDir: { env: 'PORTCULLIS_POLICIES', def: '', parse: str },
  controllerUrl: { env: 'PORTCULLIS_CONTROLLER_URL', def: '', parse: str },
  controllerCa: { env: 'PORTCULLIS_CONTROLLER_CA', def: '', parse: pemCertificates },
  controllerTokenFile: { env: 'PORTCULLIS_CONTROLLER_TOKEN_FILE', def: '', parse: str },
  lastBundleFile: { env: 'PORTCULLIS_LAST_BUNDLE_FILE', def: '', parse: str },
  bundlePublicKey: { env: 'PORTCULLIS_BUNDLE_PUBLIC_KEY', def: '', parse: publicKeys },
  acceptUnsignedBundles: { env: 'PORTCULLIS_ACCEPT_UNSIGNED_BUNDLES', def: 'false', parse: bool },
  approvalPageUrl: { env: 'PORTCULLIS_APPROVAL_PAGE_URL', def: '', parse: str },
  adminTokenFile: { env: 'PORTCULLIS_ADMIN_TOKEN_FILE', def: '', parse: str },
  approverGroups: { env: 'PORTCULLIS_APPROVER_GROUPS', def: '', parse: stringMap },
  bundleName: { env: 'PORTCULLIS_BUNDLE', def: '', parse: str },
  logLevel: { env: 'PORTCULLIS_LOG_LEVEL', def: 'info', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  // 2^31−1 is the engine's own upper bound (the module counts in an i32).
  policyMaxSteps: { env: 'PORTCULLIS_POLICY_MAX_STEPS', def: '10000000', parse: int(1, 2 ** 31 - 1) },
  policyStrictBuiltinErrors: { env: 'PORTCULLIS_POLICY_STRICT_BUILTIN_ERRORS', def: 'true', parse: bool },
} as const;

const AGENT_SETTINGS = {
  namespace: { env: 'PORTCULLIS_POD_NAMESPACE', def: '', parse: str },
  pod: { env: 'PORTCULLIS_POD_NAME', def: '', parse: str },
  serviceAccount: { env: 'PORTCULLIS_SERVICE_ACCOUNT', def: '', parse: str },
  labels: { env: 'PORTCULLIS_POD_LABELS', def: '', parse: stringMap },
  annotations: { env: 'PORTCULLIS_POD_ANNOTATIONS', def: '', parse: stringMap },
} as const;

export type ConfigOverrides = Partial<Record<keyof typeof SETTINGS, string>>;

/** The names of every environment variable read, for `--help` texts and docs. */
export function settingNames(): string[] {
  return [...Object.values(SETTINGS), ...Object.values(AGENT_SETTINGS)].map((s) => s.env);
}

function read<S extends Record<string, { env: string; def: string; parse: Parser<unknown> }>>(
  settings: S,
  env: Env,
  overrides: Record<string, string | undefined>,
  flagName: (k: string) => string,
): { [K in keyof S]: ReturnType<S[K]['parse']> } {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = overrides[key];
    const raw = fromFlag ?? env[s.env] ?? s.def;
    out[key] = s.parse(raw, fromFlag !== undefined ? flagName(key) : s.env);
  }
  return out as { [K in keyof S]: ReturnType<S[K]['parse']> };
}

const kebab = (k: string): string => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** How the sidecar reaches the controller: the options BundleClient and ControllerApprovalBroker share. */
export function controllerConnection(config: Pick<SidecarConfig, 'controllerUrl' | 'controllerCa'>): { controllerUrl: string; ca?: string } {
  return { controllerUrl: config.controllerUrl, ...(config.controllerCa ? { ca: config.controllerCa } : {}) };
}

/** The policy engine's options (`new OpaWasmEngine(engineOptions(config))`). */
export function engineOptions(config: Pick<SidecarConfig, 'policyMaxSteps' | 'policyStrictBuiltinErrors'>): { maxSteps: number; strictBuiltinErrors: boolean } {
  return { maxSteps: config.policyMaxSteps, strictBuiltinErrors: config.policyStrictBuiltinErrors };
}

/** Reads, validates and freezes the configuration; throws PortcullisError CONFIG naming the bad setting. */
export function loadConfig(env: Env, overrides: ConfigOverrides = {}): Readonly<SidecarConfig> {
  const base = read(SETTINGS, env, overrides, kebab);
  const agent = read(AGENT_SETTINGS, env, {}, kebab);
  const config: SidecarConfig = { ...base, agent, modeFromBundle: overrides.mode === undefined && env.PORTCULLIS_MODE === undefined, capture: readCaptureConfig(env), credentials: readCredentialSources(env) };
  if (config.port !== 0 && config.port === config.adminPort && config.listenHost === config.adminHost) {
    throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_ADMIN_PORT must differ from PORTCULLIS_PORT (both ${config.port})`, { setting: 'PORTCULLIS_ADMIN_PORT' });
  }
  if (env.PORTCULLIS_EVAL_TIMEOUT_MS !== undefined) {
    // A setting that changed meaning is refused rather than ignored, so nobody believes it still applies.
    throw new PortcullisError(
      ErrorCodes.CONFIG,
      'PORTCULLIS_EVAL_TIMEOUT_MS is no longer read: a decision never depends on wall-clock time. PORTCULLIS_POLICY_MAX_STEPS bounds an evaluation (deterministically, as replay does) and PORTCULLIS_EVAL_SLOW_MS sets when a slow one is logged; unset it',
      { setting: 'PORTCULLIS_EVAL_TIMEOUT_MS' },
    );
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new PortcullisError(ErrorCodes.CONFIG, 'PORTCULLIS_HEADERS_TIMEOUT_MS must not exceed PORTCULLIS_REQUEST_TIMEOUT_MS', { setting: 'PORTCULLIS_HEADERS_TIMEOUT_MS' });
  }
  if (config.controllerCa && !config.controllerUrl.toLowerCase().startsWith('https://')) {
    throw new PortcullisError(ErrorCodes.CONFIG, 'PORTCULLIS_CONTROLLER_CA is set but PORTCULLIS_CONTROLLER_URL is not an https:// URL; use https or unset the CA', { setting: 'PORTCULLIS_CONTROLLER_CA' });
  }
  return deepFreeze(config);
}
