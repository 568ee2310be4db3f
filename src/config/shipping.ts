/**
 * Where the sidecar ships its ledger (object storage) and sends its heads
 * (the witness): read once from the environment, validated, frozen. In a
 * cluster the platform sets these on the sidecar only (the agent container
 * never sees the credentials); locally they are optional and `portcullis dev`
 * keeps its ledger in a file.
 *
 *   PORTCULLIS_SHIP_TO                 s3://BUCKET/PREFIX; this pod's folder is PREFIX/NAMESPACE/POD/[UID/]
 *   PORTCULLIS_SHIP_ENDPOINT           the S3 API, e.g. https://s3.eu-west-1.amazonaws.com (path-style requests)
 *   PORTCULLIS_SHIP_REGION             default us-east-1
 *   PORTCULLIS_SHIP_ACCESS_KEY_ID, PORTCULLIS_SHIP_SECRET_ACCESS_KEY, PORTCULLIS_SHIP_SESSION_TOKEN
 *   PORTCULLIS_SHIP_INTERVAL_MS        between two rounds (segments, head); default 5000
 *   PORTCULLIS_SHIP_SEGMENT_MAX_AGE_MS close the open segment once this old; default 300000, 0 never
 *   PORTCULLIS_SHIP_RETRY_MAX_MS       longest wait between attempts while the store fails; default 30000
 *   PORTCULLIS_SHIP_SHUTDOWN_TIMEOUT_MS  at SIGTERM, time to ship what is left; default 20000
 *   PORTCULLIS_WITNESS_URL             the witness's base URL; default PORTCULLIS_CONTROLLER_URL, "none" for no witness
 */
import { hostname } from 'node:os';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { S3Credentials } from '../evidence/shipping/sigv4.ts';
import { parseS3Url, type S3Location } from '../evidence/shipping/s3-url.ts';
import type { SidecarConfig } from './config.ts';

export interface ShippingConfig {
  /** This pod's folder in the bucket. */
  destination: S3Location;
  endpoint: string;
  region: string;
  credentials: S3Credentials;
  identity: { namespace: string; pod: string; uid?: string };
  intervalMs: number;
  segmentMaxAgeMs: number;
  retryMaxMs: number;
  shutdownTimeoutMs: number;
  /** Empty: no witness. */
  witnessUrl: string;
}

type Env = Record<string, string | undefined>;

function setting(env: Env, name: string): string {
  return (env[name] ?? '').trim();
}

/** An integer setting's default and bounds. */
interface IntegerRange {
  def: number;
  min: number;
  max: number;
}

function integer(env: Env, name: string, { def, min, max }: IntegerRange): number {
  const raw = setting(env, name);
  if (!raw) return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new PortcullisError(ErrorCodes.CONFIG, `${name}=${JSON.stringify(raw)} is invalid: expected an integer from ${min} to ${max}`, { setting: name });
  }
  return n;
}

type Timings = Pick<ShippingConfig, 'intervalMs' | 'segmentMaxAgeMs' | 'retryMaxMs' | 'shutdownTimeoutMs'>;

/** Each timing setting's variable and range. */
const TIMINGS: Readonly<Record<keyof Timings, readonly [string, IntegerRange]>> = {
  intervalMs: ['PORTCULLIS_SHIP_INTERVAL_MS', { def: 5000, min: 100, max: 3_600_000 }],
  segmentMaxAgeMs: ['PORTCULLIS_SHIP_SEGMENT_MAX_AGE_MS', { def: 300_000, min: 0, max: 86_400_000 }],
  retryMaxMs: ['PORTCULLIS_SHIP_RETRY_MAX_MS', { def: 30_000, min: 100, max: 3_600_000 }],
  shutdownTimeoutMs: ['PORTCULLIS_SHIP_SHUTDOWN_TIMEOUT_MS', { def: 20_000, min: 0, max: 3_600_000 }],
};

function timings(env: Env): Timings {
  const value = (key: keyof Timings): number => integer(env, ...TIMINGS[key]);
  return { intervalMs: value('intervalMs'), segmentMaxAgeMs: value('segmentMaxAgeMs'), retryMaxMs: value('retryMaxMs'), shutdownTimeoutMs: value('shutdownTimeoutMs') };
}

/** A name usable as one path segment of an object key. */
function segment(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[-.]+|[-.]+$/g, '') || 'unnamed';
}

type Fail = (name: string, why: string) => PortcullisError;

/** The S3 API and the credentials to ship with: both required once shipping is on. */
function store(env: Env, fail: Fail): Pick<ShippingConfig, 'endpoint' | 'region' | 'credentials'> {
  const endpoint = setting(env, 'PORTCULLIS_SHIP_ENDPOINT');
  if (!/^https?:\/\/[^/\s]+\/?$/i.test(endpoint)) throw fail('PORTCULLIS_SHIP_ENDPOINT', `must be the S3 API's http(s)://HOST[:PORT], got ${JSON.stringify(endpoint)}`);
  const accessKeyId = setting(env, 'PORTCULLIS_SHIP_ACCESS_KEY_ID');
  const secretAccessKey = setting(env, 'PORTCULLIS_SHIP_SECRET_ACCESS_KEY');
  if (!accessKeyId || !secretAccessKey) throw fail('PORTCULLIS_SHIP_ACCESS_KEY_ID', 'and PORTCULLIS_SHIP_SECRET_ACCESS_KEY must both be set');
  const sessionToken = setting(env, 'PORTCULLIS_SHIP_SESSION_TOKEN');
  return {
    endpoint: endpoint.replace(/\/$/, ''),
    region: setting(env, 'PORTCULLIS_SHIP_REGION') || 'us-east-1',
    credentials: Object.freeze({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }),
  };
}

/** Whose ledger this is: the pod's namespace and name (local and the host name outside a cluster), and its UID when given. */
function identity(env: Env, agent: SidecarConfig['agent']): ShippingConfig['identity'] {
  const namespace = agent.namespace ? segment(agent.namespace) : 'local';
  const pod = agent.pod ? segment(agent.pod) : segment(hostname());
  const uid = setting(env, 'PORTCULLIS_POD_UID');
  if (uid && !/^[0-9a-f-]{36}$/.test(uid)) throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_POD_UID=${JSON.stringify(uid)} is not a pod UID`, { setting: 'PORTCULLIS_POD_UID' });
  return Object.freeze({ namespace, pod, ...(uid ? { uid } : {}) });
}

/** PORTCULLIS_WITNESS_URL, else the controller; empty for "none". */
function witnessUrlOf(env: Env, controllerUrl: string, fail: Fail): string {
  const witness = setting(env, 'PORTCULLIS_WITNESS_URL');
  const witnessUrl = witness === 'none' ? '' : witness || controllerUrl;
  if (witnessUrl && !/^https?:\/\/[^/\s]+/i.test(witnessUrl)) throw fail('PORTCULLIS_WITNESS_URL', `must be an http(s):// URL or "none", got ${JSON.stringify(witnessUrl)}`);
  return witnessUrl;
}

/** The shipping configuration, or undefined when PORTCULLIS_SHIP_TO is not set (the ledger stays on the volume). */
export function loadShippingConfig(env: Env, sidecar: Pick<SidecarConfig, 'agent' | 'controllerUrl' | 'ledgerFile'>): Readonly<ShippingConfig> | undefined {
  const to = setting(env, 'PORTCULLIS_SHIP_TO');
  if (!to) return undefined;
  const fail: Fail = (name, why) => new PortcullisError(ErrorCodes.CONFIG, `${name} ${why} (PORTCULLIS_SHIP_TO is set, so the ledger is shipped)`, { setting: name });
  if (!sidecar.ledgerFile) throw fail('PORTCULLIS_LEDGER', 'is not set: there is no ledger to ship');
  const base = parseS3Url(to, true, 'PORTCULLIS_SHIP_TO');
  const s3 = store(env, fail);
  const id = identity(env, sidecar.agent);
  const witnessUrl = witnessUrlOf(env, sidecar.controllerUrl, fail);
  const destination = Object.freeze({ bucket: base.bucket, prefix: `${base.prefix}${id.namespace}/${id.pod}/${id.uid ? `${id.uid}/` : ''}` });
  const config: ShippingConfig = { destination, ...s3, identity: id, ...timings(env), witnessUrl };
  return Object.freeze(config);
}
