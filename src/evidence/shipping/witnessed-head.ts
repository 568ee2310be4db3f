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

/** Checks a head received over the wire; throws BAD_REQUEST naming the field. */
export function parseWitnessedHead(body: unknown): WitnessedHead {
  const b = (body ?? {}) as Record<string, unknown>;
  const bad = (field: string, expected: string): PortcullisError =>
    new PortcullisError(ErrorCodes.BAD_REQUEST, `ledger head: ${field} must be ${expected}`, { field });
  if (typeof b.namespace !== 'string' || !isKubeName(b.namespace)) throw bad('namespace', 'a Kubernetes namespace name');
  if (typeof b.pod !== 'string' || !isKubeName(b.pod)) throw bad('pod', 'a Kubernetes pod name');
  if (b.uid !== undefined && (typeof b.uid !== 'string' || !/^[0-9a-f-]{36}$/.test(b.uid))) throw bad('uid', 'a pod UID');
  if (typeof b.seq !== 'number' || !Number.isSafeInteger(b.seq) || b.seq < 0) throw bad('seq', 'a non-negative integer');
  if (typeof b.hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(b.hash)) throw bad('hash', 'sha256:<64 hex digits>');
  if (b.signature !== undefined && (typeof b.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(b.signature))) throw bad('signature', 'a base64 ed25519 signature');
  if (b.keyId !== undefined && (typeof b.keyId !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(b.keyId))) throw bad('keyId', 'sha256:<64 hex digits>');
  if (typeof b.time !== 'string' || Number.isNaN(Date.parse(b.time))) throw bad('time', 'an RFC 3339 time');
  return {
    namespace: b.namespace,
    pod: b.pod,
    ...(b.uid !== undefined ? { uid: b.uid as string } : {}),
    seq: b.seq,
    hash: b.hash,
    ...(b.signature !== undefined ? { signature: b.signature as string } : {}),
    ...(b.keyId !== undefined ? { keyId: b.keyId as string } : {}),
    time: b.time,
  };
}
