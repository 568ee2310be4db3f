/**
 * Replay (design.md §4): re-evaluates every recorded input.
 *
 * - With the policy that was recorded (a bundle whose digest matches the
 *   entry's), every decision must come out bit for bit the same: a difference
 *   means the record or the engine cannot be trusted (`mismatch`).
 * - With any other bundle, it answers "what would this policy have decided on
 *   real traffic?": the decisions that would change are listed (`changed`).
 *
 * The input carries its own time, mode and trace ID, so evaluation needs
 * nothing but the record and the bundle.
 */
import { canonicalJson } from './canonical.ts';
import { sha256 } from './hash.ts';
import { parseEntry } from './ledger-entry.ts';
import { orderLedgerFiles, readLines, totalBytes } from './ledger-reader.ts';
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
  detail?: string;
}

export interface ReplayReport {
  /** No mismatch, no error, and every entry had a bundle to replay with. */
  ok: boolean;
  intents: number;
  counts: Record<ReplayStatus, number>;
  /** Rows worth a look: mismatch, changed, error (unavailable ones are summarised in `missingDigests`). */
  rows: ReplayRow[];
  /** Digests recorded in the ledger with no bundle given for them, with how many entries each. */
  missingDigests: Record<string, number>;
  /** Recorded policies found by `resolve` (the bundle store beside the ledger). */
  resolved: Array<{ digest: string; label: string }>;
}

export interface ReplayOptions {
  bundles: ReplayBundle[];
  /** The bundle for entries whose recorded policy was not given (what-if); default: the first bundle. */
  candidate?: ReplayBundle;
  /** Finds the recorded policy of a digest no given bundle has (asked once per digest). */
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

function replayOne(rec: IntentRecord, seq: number, bundles: readonly ReplayBundle[], candidate: ReplayBundle | undefined): ReplayRow {
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
  const exact = bundles.find((b) => b.digest === rec.policyDigest);
  const bundle = exact ?? candidate;
  if (!bundle) return { ...row, status: 'unavailable', detail: `the recorded policy ${rec.policyDigest} was not given` };
  row.replayDigest = bundle.digest;
  try {
    const now = evaluate(bundle.engine, rec.input, rec.entrypoint);
    let same = now.canonical === canonicalJson(rec.decision ?? null);
    if (rec.rewritten) {
      const again = evaluate(bundle.engine, rec.rewritten.input, rec.entrypoint);
      const rewrittenSame = again.canonical === canonicalJson(rec.rewritten.decision ?? null);
      row.rewritten = !rewrittenSame;
      same &&= rewrittenSame;
    }
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
export async function replayLedger(files: string[], options: ReplayOptions): Promise<ReplayReport> {
  const ordered = await orderLedgerFiles(files);
  const total = await totalBytes(ordered);
  const counts: Record<ReplayStatus, number> = { reproduced: 0, mismatch: 0, unchanged: 0, changed: 0, unavailable: 0, skipped: 0, error: 0 };
  const rows: ReplayRow[] = [];
  const missingDigests: Record<string, number> = {};
  const maxRows = options.maxRows ?? 10_000;
  const bundles = [...options.bundles];
  const candidate = options.candidate ?? options.bundles[0];
  const tried = new Set<string>();
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
      if (digest && options.resolve && !tried.has(digest) && !bundles.some((b) => b.digest === digest)) {
        tried.add(digest);
        const found = await options.resolve(digest);
        if (found) {
          bundles.push(found);
          resolved.push({ digest: found.digest, label: found.label });
        }
      }
      const row = replayOne(rec, parsed.entry.seq, bundles, candidate);
      counts[row.status]++;
      if (row.status === 'unavailable') missingDigests[row.recordedDigest] = (missingDigests[row.recordedDigest] ?? 0) + 1;
      else if ((row.status === 'mismatch' || row.status === 'changed' || row.status === 'error') && rows.length < maxRows) rows.push(row);
      if (intents % 5_000 === 0) options.onProgress?.({ bytes, totalBytes: total, intents });
    }
  }
  options.onProgress?.({ bytes, totalBytes: total, intents });
  return { ok: counts.mismatch === 0 && counts.error === 0 && counts.unavailable === 0, intents, counts, rows, missingDigests, resolved };
}
