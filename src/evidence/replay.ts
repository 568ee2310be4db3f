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
import { parseEntry, type LedgerEntry } from './ledger-entry.ts';
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

/** The row of an intent as recorded, before it is replayed. */
function recordedRow(rec: IntentRecord, seq: number): ReplayRow {
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
  return row;
}

/** The final row of an intent that must not be replayed (no policy decided, or the record was altered); undefined when it may. */
function unreplayable(rec: IntentRecord, row: ReplayRow): ReplayRow | undefined {
  if (!rec.policyDigest || (rec.errorCode !== undefined && !POLICY_MADE.has(rec.errorCode))) {
    row.detail = `no policy decided (failed closed: ${rec.errorCode ?? 'no bundle'})`;
    return row;
  }
  if (sha256(canonicalJson(rec.input)) !== rec.inputHash) {
    return { ...row, status: 'error', detail: 'the recorded input does not match its input hash: the record was altered' };
  }
  return undefined;
}

/** The decision (and, for a `compute`, the rewritten action's decision) evaluated again, against the record. */
interface Comparison {
  result: unknown;
  same: boolean;
  differences: string[];
  /** Set for a `compute`: whether the rewritten action's decision differs. */
  rewritten?: boolean;
}

function compare(rec: IntentRecord, engine: PolicyEngine): Comparison {
  const now = evaluate(engine, rec.input, rec.entrypoint);
  const same = now.canonical === canonicalJson(rec.decision ?? null);
  const differences = same ? [] : differingFields(rec.decision, now.result);
  if (!rec.rewritten) return { result: now.result, same, differences };
  const again = evaluate(engine, rec.rewritten.input, rec.entrypoint);
  const rewrittenSame = again.canonical === canonicalJson(rec.rewritten.decision ?? null);
  if (!rewrittenSame) differences.push('rewritten decision');
  return { result: now.result, same: same && rewrittenSame, differences, rewritten: !rewrittenSame };
}

/** Under the recorded digest a difference is a mismatch; under another one, a change. */
function statusOf(exact: boolean, same: boolean): ReplayStatus {
  if (exact) return same ? 'reproduced' : 'mismatch';
  return same ? 'unchanged' : 'changed';
}

function replayWith(rec: IntentRecord, row: ReplayRow, bundle: ReplayBundle): ReplayRow {
  row.replayDigest = bundle.digest;
  try {
    const c = compare(rec, bundle.engine);
    if (c.rewritten !== undefined) row.rewritten = c.rewritten;
    if (c.differences.length > 0) row.differences = c.differences;
    row.replayedEffect = effectOf(c.result);
    const r = reasonOf(c.result);
    if (r !== undefined) row.replayedReason = r;
    row.status = statusOf(bundle.digest === rec.policyDigest, c.same);
    if (row.status === 'mismatch') row.detail = `the recorded policy ${bundle.label} decided differently on replay`;
  } catch (e) {
    row.status = 'error';
    row.detail = `evaluation failed with ${bundle.label}: ${(e as Error).message}`;
  }
  return row;
}

function replayOne(rec: IntentRecord, seq: number, bundle: ReplayBundle | undefined): ReplayRow {
  const row = recordedRow(rec, seq);
  const refused = unreplayable(rec, row);
  if (refused) return refused;
  if (!bundle) return { ...row, status: 'unavailable', detail: `the recorded policy ${rec.policyDigest} was found nowhere` };
  return replayWith(rec, row, bundle);
}

/**
 * The bundle each intent is replayed with: the what-if bundle, else its
 * recorded policy, looked up once per digest.
 */
class PolicyFinder {
  /** Recorded policies found by `resolve`. */
  readonly resolved: ReplayReport['resolved'] = [];
  readonly #options: ReplayOptions;
  readonly #recorded: Map<string, ReplayBundle | undefined>;

  constructor(options: ReplayOptions) {
    this.#options = options;
    this.#recorded = new Map((options.recorded ?? []).map((b) => [b.digest, b]));
  }

  async for(digest: string): Promise<ReplayBundle | undefined> {
    if (this.#options.bundle) return this.#options.bundle;
    if (digest && !this.#recorded.has(digest)) await this.#resolve(digest);
    return this.#recorded.get(digest);
  }

  async #resolve(digest: string): Promise<void> {
    const found = await this.#options.resolve?.(digest);
    // A store entry under the wrong name would be another policy: it does not count as the recorded one.
    const recorded = found?.digest === digest ? found : undefined;
    this.#recorded.set(digest, recorded);
    if (recorded) this.resolved.push({ digest, label: recorded.label });
  }
}

/** Rows worth a look (kept up to a limit); the others are only counted. */
const LISTED: ReadonlySet<ReplayStatus> = new Set<ReplayStatus>(['mismatch', 'changed', 'error']);

class Tally {
  readonly counts: Record<ReplayStatus, number> = { reproduced: 0, mismatch: 0, unchanged: 0, changed: 0, unavailable: 0, skipped: 0, error: 0 };
  readonly rows: ReplayRow[] = [];
  readonly missingDigests: Record<string, number> = {};
  readonly #maxRows: number;

  constructor(maxRows: number) {
    this.#maxRows = maxRows;
  }

  add(row: ReplayRow): void {
    this.counts[row.status]++;
    if (row.status === 'unavailable') this.missingDigests[row.recordedDigest] = (this.missingDigests[row.recordedDigest] ?? 0) + 1;
    else if (LISTED.has(row.status) && this.rows.length < this.#maxRows) this.rows.push(row);
  }
}

/** The intent entries of the ledger files, in order; `read.bytes` counts the bytes read so far. */
async function* intentEntries(files: LedgerInput[], read: { bytes: number }): AsyncGenerator<LedgerEntry> {
  for (const file of files) {
    for await (const l of readLines(file)) {
      read.bytes += l.bytes;
      if (!l.terminated) continue;
      const parsed = parseEntry(l.text);
      if (parsed.ok && parsed.entry.kind === 'intent') yield parsed.entry;
    }
  }
}

/** Replays every intent of the ledger `files` (any order; rotated segments are followed by sequence). */
export async function replayLedger(files: LedgerInput[], options: ReplayOptions): Promise<ReplayReport> {
  const ordered = await orderLedgerFiles(files);
  const total = await totalBytes(ordered);
  const tally = new Tally(options.maxRows ?? 10_000);
  const policies = new PolicyFinder(options);
  const read = { bytes: 0 };
  let intents = 0;
  for await (const entry of intentEntries(ordered, read)) {
    intents++;
    const rec = entry.record as unknown as IntentRecord;
    tally.add(replayOne(rec, entry.seq, await policies.for(rec.policyDigest)));
    if (intents % 5_000 === 0) options.onProgress?.({ bytes: read.bytes, totalBytes: total, intents });
  }
  options.onProgress?.({ bytes: read.bytes, totalBytes: total, intents });
  const { counts, rows, missingDigests } = tally;
  return { ok: counts.mismatch === 0 && counts.error === 0 && counts.unavailable === 0, intents, counts, rows, missingDigests, resolved: policies.resolved };
}
