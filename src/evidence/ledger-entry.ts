/**
 * The ledger's line format, pure. One entry per line, in RFC 8785 canonical
 * form (so any reader can recompute the hash from the parsed value):
 *
 *   {"hash":H,"kind":K,"prev":P,"record":R,"seq":N,"sig":S?,"v":1}
 *
 * `hash` = sha256 of the canonical JSON of {kind, prev, record, seq, v}: it
 * covers the record and, through `prev`, every entry before it. `sig` is not
 * hashed: it is an ed25519 signature over the head statement of this entry
 * (see signing.ts), added to the last entry of each group commit.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.ts';
import { HASH_PREFIX, isSha256, sha256 } from './hash.ts';

export const LEDGER_FORMAT_VERSION = 1;

export type EntryKind = 'intent' | 'outcome';
const KINDS: ReadonlySet<string> = new Set<EntryKind>(['intent', 'outcome']);
const ENTRY_KEYS: ReadonlySet<string> = new Set(['hash', 'kind', 'prev', 'record', 'seq', 'sig', 'v']);

export interface LedgerEntry {
  seq: number;
  prev: string;
  hash: string;
  kind: EntryKind;
  record: Record<string, unknown>;
  sig?: string;
  v: number;
}

/** The text that `hash` is the sha256 of, built from an already canonical record. */
function hashedBody(kind: string, prev: string, recordJson: string, seq: number): string {
  return `{"kind":${JSON.stringify(kind)},"prev":${JSON.stringify(prev)},"record":${recordJson},"seq":${seq},"v":${LEDGER_FORMAT_VERSION}}`;
}

/** A serialised entry: its line (with the newline) and hash. */
export interface SealedEntry {
  seq: number;
  hash: string;
  line: string;
  sig?: string;
}

/** Where an entry goes in the chain: its sequence number and the hash of the entry before it. */
export interface EntryLink {
  seq: number;
  prev: string;
}

/** Signs the head statement of the entry with this sequence number and hash (signing.ts). */
export type EntrySigner = (seq: number, hash: string) => string;

/**
 * Builds the line of an entry from the canonical JSON of its record. The
 * result is itself canonical JSON (keys in order), so `parseEntry` followed by
 * `entryHash` reproduces `hash`.
 */
export function sealEntry(kind: EntryKind, recordJson: string, { seq, prev }: EntryLink, sign?: EntrySigner): SealedEntry {
  const hash = sha256(hashedBody(kind, prev, recordJson, seq));
  const signature = sign?.(seq, hash);
  const sig = signature === undefined ? '' : `,"sig":${JSON.stringify(signature)}`;
  const line =
    `{"hash":${JSON.stringify(hash)},"kind":${JSON.stringify(kind)},"prev":${JSON.stringify(prev)},` +
    `"record":${recordJson},"seq":${seq}${sig},"v":${LEDGER_FORMAT_VERSION}}\n`;
  return signature === undefined ? { seq, hash, line } : { seq, hash, line, sig: signature };
}

/** A sealed entry, its line in three parts: ASCII head, the record's UTF-8 bytes, ASCII tail. */
export interface SealedParts {
  seq: number;
  hash: string;
  head: string;
  record: Buffer;
  tail: string;
  sig?: string;
  /** Byte length of the whole line, newline included. */
  length: number;
}

/**
 * The same line as `sealEntry`, from the record's canonical JSON already
 * encoded as UTF-8. The ledger encodes each record when it is appended, so
 * that what waits for the next group commit is one off-heap buffer rather
 * than a string built of many pieces that the garbage collector must keep
 * copying while an fsync is in flight; the parts are copied once, into the
 * batch's buffer (`writeParts`).
 */
export function sealEntryParts(kind: EntryKind, record: Buffer, at: { seq: number; prev: string }, sign?: (seq: number, hash: string) => string): SealedParts {
  const { seq, prev } = at;
  const k = JSON.stringify(kind);
  const p = JSON.stringify(prev);
  const hash =
    HASH_PREFIX +
    createHash('sha256')
      .update(`{"kind":${k},"prev":${p},"record":`)
      .update(record)
      .update(`,"seq":${seq},"v":${LEDGER_FORMAT_VERSION}}`)
      .digest('hex');
  const signature = sign?.(seq, hash);
  const sig = signature === undefined ? '' : `,"sig":${JSON.stringify(signature)}`;
  // kind, prev, hash and a base64 signature are ASCII: string length = byte length.
  const head = `{"hash":"${hash}","kind":${k},"prev":${p},"record":`;
  const tail = `,"seq":${seq}${sig},"v":${LEDGER_FORMAT_VERSION}}\n`;
  const parts: SealedParts = { seq, hash, head, record, tail, length: head.length + record.byteLength + tail.length };
  if (signature !== undefined) parts.sig = signature;
  return parts;
}

/** Copies sealed entries into one buffer, in order. */
export function writeParts(entries: readonly SealedParts[]): Buffer {
  let total = 0;
  for (const e of entries) total += e.length;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const e of entries) {
    off += out.write(e.head, off, 'latin1');
    off += e.record.copy(out, off);
    off += out.write(e.tail, off, 'latin1');
  }
  return out;
}

/** Recomputes the hash of a parsed entry from its content. */
export function entryHash(entry: Pick<LedgerEntry, 'kind' | 'prev' | 'record' | 'seq'>): string {
  return sha256(hashedBody(entry.kind, entry.prev, canonicalJson(entry.record), entry.seq));
}

/** Why a line is not an entry, or the entry. */
export type ParsedLine = { ok: true; entry: LedgerEntry } | { ok: false; problem: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Each field's check, in the order a problem is reported, and the problem when it fails. */
const FIELD_CHECKS: readonly (readonly [(o: Record<string, unknown>) => boolean, (o: Record<string, unknown>) => string])[] = [
  [(o) => Number.isSafeInteger(o.seq) && (o.seq as number) >= 0, () => 'seq is not a non-negative integer'],
  [(o) => isSha256(o.prev), () => 'prev is not a sha256 hash'],
  [(o) => isSha256(o.hash), () => 'hash is not a sha256 hash'],
  [(o) => typeof o.kind === 'string' && KINDS.has(o.kind), (o) => `kind "${String(o.kind)}" is unknown`],
  [(o) => isObject(o.record), () => 'record is not an object'],
  [(o) => o.v === LEDGER_FORMAT_VERSION, (o) => `format version ${String(o.v)} is not supported (expected ${LEDGER_FORMAT_VERSION})`],
  [(o) => o.sig === undefined || typeof o.sig === 'string', () => 'sig is not a string'],
];

/** What is wrong with the shape of an entry's object, if anything. */
function shapeProblem(o: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(o).find((k) => !ENTRY_KEYS.has(k));
  if (unknown !== undefined) return `unknown field "${unknown}"`;
  const failed = FIELD_CHECKS.find(([ok]) => !ok(o));
  return failed?.[1](o);
}

/** Parses one line (without its newline) and checks its shape; does not check its hash. */
export function parseEntry(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, problem: `not JSON (${(e as Error).message})` };
  }
  if (!isObject(value)) return { ok: false, problem: 'not a JSON object' };
  const problem = shapeProblem(value);
  if (problem !== undefined) return { ok: false, problem };
  return { ok: true, entry: value as unknown as LedgerEntry };
}
