/**
 * Replay (design.md §4): re-evaluates every recorded input. Two modes, chosen
 * by whether a bundle is given:
 *
 * - Reproduction (no `bundle`): every entry is evaluated with its own
 *   recorded policy (`recorded`, else `resolve`, i.e. the bundle store beside
 *   the ledger) and must come out bit for bit the same: a difference means
 *   the record or the engine cannot be trusted (`mismatch`); a recorded
 *   policy found nowhere is named (`unavailable`).
 * - What-if (`bundle`): every entry is evaluated with that bundle and the
 *   decisions that would change are listed (`changed`), whatever the store
 *   holds: a policy change tested against real traffic. An entry recorded
 *   under the bundle's own digest is still a reproduction check.
 *
 * The input carries its own time, mode and trace ID, so evaluation needs
 * nothing but the record and the bundle.
 */
import { canonicalJson } from './canonical.ts';
import { sha256 } from './hash.ts';
import { parseEntry } from './ledger-entry.ts';
import { orderLedgerFiles, readLines, totalBytes, type LedgerInput } from './ledger-reader.ts';
import type { IntentRecord } from './recorder.ts';
import type { PolicyEngine } from '../policy/types.ts';
import { ErrorCodes } from '../errors.ts';

/**
 * Error codes an intent can carry while its decision is still the policy's
 * own (a deny, a rewrite refused on re-evaluation, an escalation rejected or
 * timed out, a result that failed the decision schema, which is recorded as
 * returned). Any other code means no policy decided (no bundle, engine
 * failure, timeout, a request refused before evaluation): nothing to replay.
 */
const POLICY_MADE: ReadonlySet<string> = new Set([
  ErrorCodes.DENIED,
  ErrorCodes.REWRITE_NOT_ALLOWED,
  ErrorCodes.ESCALATION_REJECTED,
  ErrorCodes.ESCALATION_TIMEOUT,
  ErrorCodes.DECISION_INVALID,
]);

/** A loaded bundle to replay with. */
export interface ReplayBundle {
  digest: string;
  engine: PolicyEngine;
  /** Where it came from, for messages. */
  label: string;
}

export type ReplayStatus = 'reproduced' | 'mismatch' | 'unchanged' | 'changed' | 'unavailable' | 'skipped' | 'error';

export interface ReplayRow {
  seq: number;
  decisionId: string;
  time: string;
  tool: string;
  status: ReplayStatus;
  recordedDigest: string;
  /** Digest of the bundle that replayed it. */
  replayDigest?: string;
  recordedEffect: string;
  replayedEffect?: string;
  recordedReason?: string;
  replayedReason?: string;
  /** For `compute`: whether the rewritten action's decision differs. */
  rewritten?: boolean;
  /**
   * What differs from the record: the decision's fields (`effect`, `reason`,
   * `constraints`, `rewrite`, …, or `decision` when either is not an object)
   * and `rewritten decision` for a `compute`. Empty when nothing does.
   */
  differences?: string[];
  detail?: string;
}

export interface ReplayReport {
  /** No mismatch, no error, and every entry had a bundle to replay with. */
  ok: boolean;
  intents: number;
  counts: Record<ReplayStatus, number>;
  /** Rows worth a look: mismatch, changed, error (unavailable ones are summarised in `missingDigests`). */
  rows: ReplayRow[];
  /** Digests recorded in the ledger whose policy was found nowhere, with how many entries each. */
  missingDigests: Record<string, number>;
  /** Recorded policies found by `resolve` (the bundle store beside the ledger). */
  resolved: Array<{ digest: string; label: string }>;
}

export interface ReplayOptions {
  /** What-if: evaluate every entry with this bundle. Without it, each entry is reproduced with its recorded policy. */
  bundle?: ReplayBundle;
  /** Reproduction: recorded policies known up front (looked up by digest). */
  recorded?: ReplayBundle[];
  /** Reproduction: finds the recorded policy of a digest `recorded` lacks (asked once per digest). */
  resolve?: (digest: string) => Promise<ReplayBundle | undefined>;
  onProgress?: (p: { bytes: number; totalBytes: number; intents: number }) => void;
  /** Keep at most this many rows (counts stay exact). Default 10,000. */
  maxRows?: number;
}

function effectOf(decision: unknown): string {
  const e = (decision as { effect?: unknown } | null)?.effect;
  return typeof e === 'string' ? e : decision === null || decision === undefined ? '(undefined)' : '(invalid)';
}

function reasonOf(decision: unknown): string | undefined {
  const r = (decision as { reason?: unknown } | null)?.reason;
  return typeof r === 'string' ? r : undefined;
}

/** Evaluates and returns the canonical form of the result, or throws. */
function evaluate(engine: PolicyEngine, input: unknown, entrypoint: string): { result: unknown; canonical: string } {
  const r = engine.evaluate(input, entrypoint || undefined);
  const result = r.result ?? null;
  return { result, canonical: canonicalJson(result) };
}

/** The top-level fields of two decisions whose canonical JSON differs. */
function differingFields(recorded: unknown, replayed: unknown): string[] {
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(recorded) || !isObject(replayed)) return canonicalJson(recorded ?? null) === canonicalJson(replayed ?? null) ? [] : ['decision'];
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(replayed)])].sort();
  const fields = keys.filter((k) => canonicalJson(recorded[k] ?? null) !== canonicalJson(replayed[k] ?? null));
  // A field present as null on one side and absent on the other still makes the bytes differ.
  return fields.length > 0 ? fields : ['decision'];
}

function replayOne(rec: IntentRecord, seq: number, bundle: ReplayBundle | undefined): ReplayRow {
  const row: ReplayRow = {
    seq,
    decisionId: rec.decisionId,
    time: rec.time,
    tool: rec.input?.action?.tool ?? '',
    status: 'skipped',
    recordedDigest: rec.policyDigest,
    recordedEffect: effectOf(rec.decision),
  };
  const reason = reasonOf(rec.decision);
  if (reason !== undefined) row.recordedReason = reason;
  if (!rec.policyDigest || (rec.errorCode !== undefined && !POLICY_MADE.has(rec.errorCode))) {
    row.detail = `no policy decided (failed closed: ${rec.errorCode ?? 'no bundle'})`;
    return row;
  }
  if (sha256(canonicalJson(rec.input)) !== rec.inputHash) {
    return { ...row, status: 'error', detail: 'the recorded input does not match its input hash: the record was altered' };
  }
  if (!bundle) return { ...row, status: 'unavailable', detail: `the recorded policy ${rec.policyDigest} was found nowhere` };
  const exact = bundle.digest === rec.policyDigest;
  row.replayDigest = bundle.digest;
  try {
    const now = evaluate(bundle.engine, rec.input, rec.entrypoint);
    let same = now.canonical === canonicalJson(rec.decision ?? null);
    const differences = same ? [] : differingFields(rec.decision, now.result);
    if (rec.rewritten) {
      const again = evaluate(bundle.engine, rec.rewritten.input, rec.entrypoint);
      const rewrittenSame = again.canonical === canonicalJson(rec.rewritten.decision ?? null);
      row.rewritten = !rewrittenSame;
      if (!rewrittenSame) differences.push('rewritten decision');
      same &&= rewrittenSame;
    }
    if (differences.length > 0) row.differences = differences;
    row.replayedEffect = effectOf(now.result);
    const r = reasonOf(now.result);
    if (r !== undefined) row.replayedReason = r;
    row.status = exact ? (same ? 'reproduced' : 'mismatch') : same ? 'unchanged' : 'changed';
    if (row.status === 'mismatch') row.detail = `the recorded policy ${bundle.label} decided differently on replay`;
  } catch (e) {
    row.status = 'error';
    row.detail = `evaluation failed with ${bundle.label}: ${(e as Error).message}`;
  }
  return row;
}

/** Replays every intent of the ledger `files` (any order; rotated segments are followed by sequence). */
export async function replayLedger(files: LedgerInput[], options: ReplayOptions): Promise<ReplayReport> {
  const ordered = await orderLedgerFiles(files);
  const total = await totalBytes(ordered);
  const counts: Record<ReplayStatus, number> = { reproduced: 0, mismatch: 0, unchanged: 0, changed: 0, unavailable: 0, skipped: 0, error: 0 };
  const rows: ReplayRow[] = [];
  const missingDigests: Record<string, number> = {};
  const maxRows = options.maxRows ?? 10_000;
  // Reproduction only: the recorded policies by digest, filled as the ledger names them.
  const recorded = new Map<string, ReplayBundle | undefined>((options.recorded ?? []).map((b) => [b.digest, b]));
  const resolved: ReplayReport['resolved'] = [];
  let intents = 0;
  let bytes = 0;
  for (const file of ordered) {
    for await (const l of readLines(file)) {
      bytes += l.bytes;
      if (!l.terminated) continue;
      const parsed = parseEntry(l.text);
      if (!parsed.ok || parsed.entry.kind !== 'intent') continue;
      intents++;
      const rec = parsed.entry.record as unknown as IntentRecord;
      const digest = rec.policyDigest;
      if (!options.bundle && digest && !recorded.has(digest)) {
        const found = await options.resolve?.(digest);
        // A store entry under the wrong name would be another policy: it does not count as the recorded one.
        recorded.set(digest, found?.digest === digest ? found : undefined);
        if (found?.digest === digest) resolved.push({ digest, label: found.label });
      }
      const row = replayOne(rec, parsed.entry.seq, options.bundle ?? recorded.get(digest));
      counts[row.status]++;
      if (row.status === 'unavailable') missingDigests[row.recordedDigest] = (missingDigests[row.recordedDigest] ?? 0) + 1;
      else if ((row.status === 'mismatch' || row.status === 'changed' || row.status === 'error') && rows.length < maxRows) rows.push(row);
      if (intents % 5_000 === 0) options.onProgress?.({ bytes, totalBytes: total, intents });
    }
  }
  options.onProgress?.({ bytes, totalBytes: total, intents });
  return { ok: counts.mismatch === 0 && counts.error === 0 && counts.unavailable === 0, intents, counts, rows, missingDigests, resolved };
}
