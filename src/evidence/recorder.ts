/**
 * The contract between the data plane and the evidence it leaves
 * (design.md §1 step 5 and §4). The gate builds an `IntentRecord` for every
 * decision and must hold the action until `intent()` has resolved: the record
 * of an authorization is durable before the authorized action runs. After the
 * upstream answers (or fails), it sends an `OutcomeRecord`.
 */
import type { Decision, Effect, Mode, PolicyInput } from '../gate/types.ts';
import type { KnownCanonical } from './canonical.ts';

/** What the gate did with the decision; `error` when it failed closed (no bundle, engine error, invalid decision). */
export type EnforcedEffect = Effect | 'error';

/** A rewritten action (effect `compute`) and the decision it was given on re-evaluation. */
export interface RewrittenRecord {
  input: PolicyInput;
  /** `sha256:` of the canonical JSON of `input`. */
  inputHash: string;
  /** The entrypoint's result for the rewritten input, exactly as the engine returned it. */
  decision: unknown;
}

export interface IntentRecord {
  /** Unique per decision; the outcome refers to it. */
  decisionId: string;
  /** RFC 3339, when the decision was taken. */
  time: string;
  /** W3C trace ID (32 hex), continued from the agent when it sent one. */
  traceId: string;
  mode: Mode;
  /** What the policy said (`deny` when the gate failed closed). */
  effect: Effect;
  /** What was done: in observe mode a `deny` is recorded with enforcedEffect `allow`. */
  enforcedEffect: EnforcedEffect;
  reason: string;
  /** `sha256:` digest of the bundle that decided; empty when no bundle was loaded. */
  policyDigest: string;
  /** Bundle name (e.g. `namespace/name` on Kubernetes, the directory locally). */
  bundle: string;
  /** OPA path evaluated, e.g. `portcullis/decision`. */
  entrypoint: string;
  /** `sha256:` of the canonical JSON of `input`. */
  inputHash: string;
  /** The full policy input (redacted headers already replaced by their hashes), so the decision can be replayed. */
  input: PolicyInput;
  /**
   * The entrypoint's result exactly as the engine returned it (normally a
   * `Decision`); replay compares a fresh evaluation against it bit for bit.
   * Undefined results are recorded as null.
   */
  decision: Decision | unknown;
  /** Present for `compute`: the rewritten action and its own decision. */
  rewritten?: RewrittenRecord;
  /** Stable PortcullisError code when the gate failed closed. */
  errorCode?: string;
}

export interface OutcomeRecord {
  decisionId: string;
  /** RFC 3339, when the action finished. */
  time: string;
  /** The HTTP status the agent was sent (the gate's 502 or 504 when it refused the response); 0 when none was. */
  status: number;
  /** `sha256:` of the response body as the agent received it (after redaction); absent when there was no body. */
  outputHash?: string;
  /** `sha256:` of the upstream's body as it arrived, present only when the gate changed it (redaction, merged JSON-RPC errors). */
  upstreamOutputHash?: string;
  /** Response body bytes passed to the agent. */
  bytes: number;
  /** From the decision to the end of the response. */
  latencyMs: number;
  /** Stable PortcullisError code when the action failed (timeout, upstream error, response too large). */
  errorCode?: string;
}

/** Where an entry sits in the chain. */
export interface LedgerPosition {
  seq: number;
  /** `sha256:` hash of the entry. */
  hash: string;
}

/** The last durable entry, as exposed on the admin API and in metrics so it can be witnessed elsewhere. */
export interface LedgerHead extends LedgerPosition {
  /** File the head lives in. */
  file: string;
  /** base64 ed25519 signature over the head statement (see `signing.ts`), when signing is on. */
  signature?: string;
  /** SHA-256 fingerprint of the public key that signed, when signing is on. */
  keyId?: string;
}

export interface EvidenceRecorder {
  /**
   * Appends an intent entry and resolves once it is durable (fsync'd).
   * Rejects with PortcullisError LEDGER_WRITE when it cannot: the caller fails
   * closed in enforce mode, and in observe mode forwards anyway and counts the
   * loss (see `recordIntent` in `record-intent.ts`).
   *
   * `known` carries the canonical JSON the caller already computed for
   * objects inside the record (the input it hashed for `inputHash`), so the
   * record does not serialise them a second time.
   */
  intent(record: IntentRecord, known?: KnownCanonical): Promise<LedgerPosition>;
  /** Appends an outcome entry; rejects with LEDGER_WRITE when it cannot. */
  outcome(record: OutcomeRecord): Promise<void>;
  /** The last durable entry, or undefined when nothing has been written. */
  head(): LedgerHead | undefined;
  /** Flushes what is pending and closes the file. */
  close(): Promise<void>;
}

/** A recorder that records nothing: for `--no-ledger` and tests of other parts. */
export function createNullRecorder(): EvidenceRecorder {
  let seq = -1;
  return {
    intent: async () => ({ seq: ++seq, hash: '' }),
    outcome: async () => undefined,
    head: () => undefined,
    close: async () => undefined,
  };
}
