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

function integer(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = setting(env, name);
  if (!raw) return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new PortcullisError(ErrorCodes.CONFIG, `${name}=${JSON.stringify(raw)} is invalid: expected an integer from ${min} to ${max}`, { setting: name });
  }
  return n;
}

/** A name usable as one path segment of an object key. */
function segment(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[-.]+|[-.]+$/g, '') || 'unnamed';
}

/** The shipping configuration, or undefined when PORTCULLIS_SHIP_TO is not set (the ledger stays on the volume). */
export function loadShippingConfig(env: Env, sidecar: Pick<SidecarConfig, 'agent' | 'controllerUrl' | 'ledgerFile'>): Readonly<ShippingConfig> | undefined {
  const to = setting(env, 'PORTCULLIS_SHIP_TO');
  if (!to) return undefined;
  const fail = (name: string, why: string): PortcullisError => new PortcullisError(ErrorCodes.CONFIG, `${name} ${why} (PORTCULLIS_SHIP_TO is set, so the ledger is shipped)`, { setting: name });
  if (!sidecar.ledgerFile) throw fail('PORTCULLIS_LEDGER', 'is not set: there is no ledger to ship');
  const base = parseS3Url(to, true, 'PORTCULLIS_SHIP_TO');
  const endpoint = setting(env, 'PORTCULLIS_SHIP_ENDPOINT');
  if (!/^https?:\/\/[^/\s]+\/?$/i.test(endpoint)) throw fail('PORTCULLIS_SHIP_ENDPOINT', `must be the S3 API's http(s)://HOST[:PORT], got ${JSON.stringify(endpoint)}`);
  const accessKeyId = setting(env, 'PORTCULLIS_SHIP_ACCESS_KEY_ID');
  const secretAccessKey = setting(env, 'PORTCULLIS_SHIP_SECRET_ACCESS_KEY');
  if (!accessKeyId || !secretAccessKey) throw fail('PORTCULLIS_SHIP_ACCESS_KEY_ID', 'and PORTCULLIS_SHIP_SECRET_ACCESS_KEY must both be set');
  const sessionToken = setting(env, 'PORTCULLIS_SHIP_SESSION_TOKEN');
  const namespace = sidecar.agent.namespace ? segment(sidecar.agent.namespace) : 'local';
  const pod = sidecar.agent.pod ? segment(sidecar.agent.pod) : segment(hostname());
  const uid = setting(env, 'PORTCULLIS_POD_UID');
  if (uid && !/^[0-9a-f-]{36}$/.test(uid)) throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_POD_UID=${JSON.stringify(uid)} is not a pod UID`, { setting: 'PORTCULLIS_POD_UID' });
  const witness = setting(env, 'PORTCULLIS_WITNESS_URL');
  const witnessUrl = witness === 'none' ? '' : witness || sidecar.controllerUrl;
  if (witnessUrl && !/^https?:\/\/[^/\s]+/i.test(witnessUrl)) throw fail('PORTCULLIS_WITNESS_URL', `must be an http(s):// URL or "none", got ${JSON.stringify(witnessUrl)}`);
  const config: ShippingConfig = {
    destination: { bucket: base.bucket, prefix: `${base.prefix}${namespace}/${pod}/${uid ? `${uid}/` : ''}` },
    endpoint: endpoint.replace(/\/$/, ''),
    region: setting(env, 'PORTCULLIS_SHIP_REGION') || 'us-east-1',
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    identity: { namespace, pod, ...(uid ? { uid } : {}) },
    intervalMs: integer(env, 'PORTCULLIS_SHIP_INTERVAL_MS', 5000, 100, 3_600_000),
    segmentMaxAgeMs: integer(env, 'PORTCULLIS_SHIP_SEGMENT_MAX_AGE_MS', 300_000, 0, 86_400_000),
    retryMaxMs: integer(env, 'PORTCULLIS_SHIP_RETRY_MAX_MS', 30_000, 100, 3_600_000),
    shutdownTimeoutMs: integer(env, 'PORTCULLIS_SHIP_SHUTDOWN_TIMEOUT_MS', 20_000, 0, 3_600_000),
    witnessUrl,
  };
  return Object.freeze({ ...config, destination: Object.freeze(config.destination), credentials: Object.freeze(config.credentials), identity: Object.freeze(config.identity) });
}
