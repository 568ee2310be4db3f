/**
 * The rule for a decision that cannot be recorded: in enforce
 * mode the action does not run (fail closed); in observe mode it runs anyway
 * and the loss is counted, so that a full disk never takes down traffic that
 * is only being watched.
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { Mode } from '../gate/types.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { KnownCanonical } from './canonical.ts';
import type { EvidenceRecorder, IntentRecord, LedgerPosition, OutcomeRecord } from './recorder.ts';

export type IntentResult =
  /** Recorded durably: the action may proceed. */
  | { proceed: true; recorded: true; position: LedgerPosition }
  /** Not recorded, observe mode: the action may proceed, the loss was counted. */
  | { proceed: true; recorded: false; error: PortcullisError }
  /** Not recorded, enforce mode: the action must not run. */
  | { proceed: false; recorded: false; error: PortcullisError };

function asLedgerError(e: unknown): PortcullisError {
  if (e instanceof PortcullisError) return e;
  return new PortcullisError(ErrorCodes.LEDGER_WRITE, `ledger write failed: ${(e as Error)?.message ?? String(e)}`, undefined, {
    cause: e,
  });
}

export interface RecordIntentOptions {
  /** The decision's mode: whether an unrecorded action may still run. */
  mode: Mode;
  /** Where a lost record or a call failed closed is counted. */
  metrics?: PortcullisMetrics | undefined;
  /** Canonical texts already made for parts of the record (canonical.ts). */
  known?: KnownCanonical | undefined;
}

/** Records the intent of `record` and says whether its action may run. Never throws. */
export async function recordIntent(recorder: EvidenceRecorder, record: IntentRecord, { mode, metrics, known }: RecordIntentOptions): Promise<IntentResult> {
  try {
    const position = await recorder.intent(record, known);
    return { proceed: true, recorded: true, position };
  } catch (e) {
    const error = asLedgerError(e);
    if (mode === 'observe') {
      metrics?.ledgerLost.inc({ kind: 'intent' });
      return { proceed: true, recorded: false, error };
    }
    metrics?.failClosed.inc({ code: error.code });
    return { proceed: false, recorded: false, error };
  }
}

/** Records an outcome; a failure is counted (the action has already run) and returned, never thrown. */
export async function recordOutcome(
  recorder: EvidenceRecorder,
  record: OutcomeRecord,
  metrics?: PortcullisMetrics,
): Promise<PortcullisError | undefined> {
  try {
    await recorder.outcome(record);
    return undefined;
  } catch (e) {
    metrics?.ledgerLost.inc({ kind: 'outcome' });
    return asLedgerError(e);
  }
}
