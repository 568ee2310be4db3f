/**
 * A ledger head as a sidecar reports it to the witness (the controller) and
 * as the witness keeps it: which pod's ledger, where its chain stands, and
 * the signature over that position when the ledger is signed.
 */
import { ErrorCodes, PortcullisError } from '../../errors.ts';

export interface WitnessedHead {
  namespace: string;
  pod: string;
  /** The pod's UID, when the sidecar knows it: a new pod reusing a name keeps a ledger of its own. */
  uid?: string;
  seq: number;
  hash: string;
  /** base64 ed25519 signature of the head statement, when the ledger is signed. */
  signature?: string;
  keyId?: string;
  /** When the sidecar read this head (RFC 3339). */
  time: string;
}

/** Where a head goes: the controller over HTTP in a cluster, or straight into a store in tests and local runs. */
export interface HeadWitness {
  /** Resolves once the witness holds the head; rejects (HEAD_REGRESSED, OBJECT_STORE, …) otherwise. */
  send(head: WitnessedHead): Promise<void>;
}

/** Kubernetes names (DNS subdomains): safe as one object key segment, never `..`. */
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
export const isKubeName = (s: string): boolean => NAME.test(s) && !s.includes('..');

const SHA256 = /^sha256:[0-9a-f]{64}$/;
const matching =
  (re: RegExp) =>
  (v: unknown): boolean =>
    typeof v === 'string' && re.test(v);

/** A field of a head on the wire: how it is checked, and what the error says it must be. */
interface HeadField {
  field: keyof WitnessedHead;
  optional?: boolean;
  ok: (v: unknown) => boolean;
  expected: string;
}

/** The fields in the order they are checked and kept. */
const HEAD_FIELDS: readonly HeadField[] = [
  { field: 'namespace', ok: (v) => typeof v === 'string' && isKubeName(v), expected: 'a Kubernetes namespace name' },
  { field: 'pod', ok: (v) => typeof v === 'string' && isKubeName(v), expected: 'a Kubernetes pod name' },
  { field: 'uid', optional: true, ok: matching(/^[0-9a-f-]{36}$/), expected: 'a pod UID' },
  { field: 'seq', ok: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0, expected: 'a non-negative integer' },
  { field: 'hash', ok: matching(SHA256), expected: 'sha256:<64 hex digits>' },
  { field: 'signature', optional: true, ok: matching(/^[A-Za-z0-9+/]{86}==$/), expected: 'a base64 ed25519 signature' },
  { field: 'keyId', optional: true, ok: matching(SHA256), expected: 'sha256:<64 hex digits>' },
  { field: 'time', ok: (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)), expected: 'an RFC 3339 time' },
];

/** Checks a head received over the wire; throws BAD_REQUEST naming the field. Unknown fields are dropped. */
export function parseWitnessedHead(body: unknown): WitnessedHead {
  const b = (body ?? {}) as Record<string, unknown>;
  const head: Record<string, unknown> = {};
  for (const { field, optional, ok, expected } of HEAD_FIELDS) {
    const v = b[field];
    if (v === undefined && optional) continue;
    if (!ok(v)) throw new PortcullisError(ErrorCodes.BAD_REQUEST, `ledger head: ${field} must be ${expected}`, { field });
    head[field] = v;
  }
  // Every field of WitnessedHead was checked above, the optional ones when present.
  return head as unknown as WitnessedHead;
}
