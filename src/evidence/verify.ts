/**
 * Verifies a ledger without trusting the process that wrote it: every entry's
 * hash against its content, every link against the entry before it, the
 * sequence numbers, the signatures, and optionally a head witnessed
 * elsewhere. When the chain breaks it says where and how: an entry edited in
 * place, entries deleted, reordered or duplicated, two histories (a fork), or
 * a ledger cut short.
 */
import { GENESIS_HASH } from './hash.ts';
import { entryHash, parseEntry, type LedgerEntry } from './ledger-entry.ts';
import { inputName, orderLedgerFiles, readLines, totalBytes, type LedgerInput } from './ledger-reader.ts';
import type { HeadVerifier } from './signing.ts';

export type BreakKind = 'edited' | 'deleted' | 'reordered' | 'duplicated' | 'forked' | 'truncated' | 'signature' | 'orphan';

export interface Finding {
  kind: BreakKind;
  message: string;
  seq?: number;
  file?: string;
  line?: number;
}

export interface Position {
  seq: number;
  hash: string;
  file: string;
  line: number;
}

export interface VerifyReport {
  ok: boolean;
  /** Files in the order they were read (by first sequence number). */
  files: string[];
  /** Complete entries read. */
  entries: number;
  /** The last entry read whose hash matches its content. */
  head?: Position;
  /** The last entry whose signature verified. */
  signedHead?: Position;
  signatures: { valid: number; invalid: number; keyId?: string };
  /** Entries after the last valid signature (written but never signed: a crash mid-batch, or appended without the key). */
  unsignedTail: number;
  /** An unterminated last line: a write interrupted by a crash, which was never acknowledged. Ignored. */
  tornTail?: { file: string; line: number; bytes: number };
  /** Errors; the first is where the chain first breaks. */
  findings: Finding[];
  warnings: string[];
}

export interface VerifyOptions {
  /** Checks every `sig`; a ledger with none is then an error. */
  verifier?: HeadVerifier;
  /**
   * A head recorded elsewhere (admin API, metrics scrape): the ledger must
   * contain it. `hash` may be a prefix (`sha256:` and at least 12 hex digits).
   * Its signature, if any, is checked with the verifier.
   */
  witnessedHead?: { seq: number; hash: string; signature?: string };
  /** Accept a ledger whose first entry is not seq 0 (older segments archived elsewhere). */
  allowPartialStart?: boolean;
  /**
   * With a verifier: accept entries after the last signature with a warning.
   * A crash in the middle of a group commit leaves such a tail (entries never
   * acknowledged); so does someone appending without the key.
   */
  allowUnsignedTail?: boolean;
  /** Called about every 50,000 entries and at the end. */
  onProgress?: (p: { bytes: number; totalBytes: number; entries: number }) => void;
  /** Stop collecting findings after this many (the count is still reported). Default 100. */
  maxFindings?: number;
}

/** How far back duplicated or forked sequence numbers can be compared. */
const SEEN_WINDOW = 100_000;

class Walk {
  readonly report: VerifyReport;
  readonly #options: VerifyOptions;
  #expectSeq = 0;
  #prevHash = GENESIS_HASH;
  #started = false;
  /** Missing sequence numbers not (yet) found later: start → end inclusive. */
  readonly #gaps = new Map<number, { end: number; after: Position }>();
  readonly #seen = new Map<number, { hash: string; file: string; line: number }>();
  /** Intents whose outcome has not been seen. */
  readonly #open = new Set<string>();
  #extraFindings = 0;

  constructor(files: string[], options: VerifyOptions) {
    this.#options = options;
    this.report = {
      ok: true,
      files,
      entries: 0,
      signatures: { valid: 0, invalid: 0, ...(options.verifier ? { keyId: options.verifier.keyId } : {}) },
      unsignedTail: 0,
      findings: [],
      warnings: [],
    };
  }

  find(f: Finding): void {
    this.report.ok = false;
    if (this.report.findings.length < (this.#options.maxFindings ?? 100)) this.report.findings.push(f);
    else this.#extraFindings++;
  }

  corruptLine(file: string, line: number, problem: string): void {
    this.find({ kind: 'edited', file, line, message: `${file}:${line} is not a valid ledger entry (${problem}): the line was edited or damaged` });
  }

  entry(e: LedgerEntry, file: string, line: number): void {
    this.report.entries++;
    const at = `${file}:${line}`;
    if (entryHash(e) !== e.hash) {
      this.find({ kind: 'edited', seq: e.seq, file, line, message: `entry ${e.seq} (${at}) was edited: its content no longer matches its hash` });
    }
    if (!this.#started) this.#start(e, at);
    const inOrder = e.seq === this.#expectSeq && e.prev === this.#prevHash;
    if (e.seq === this.#expectSeq) this.#inOrder(e, file, line);
    else if (e.seq > this.#expectSeq) this.#ahead(e, file, line);
    else this.#behind(e, file, line);
    this.#signature(e, file, line);
    // Out of place entries are already reported; their decisions are not judged.
    this.#decisions(e, file, line, inOrder);
    this.#seen.set(e.seq, { hash: e.hash, file, line });
    if (this.#seen.size > SEEN_WINDOW) this.#seen.delete(this.#seen.keys().next().value as number);
  }

  #start(e: LedgerEntry, at: string): void {
    this.#started = true;
    if (e.seq === 0 && e.prev === GENESIS_HASH) return;
    if (e.seq === 0) {
      // #inOrder reports the broken link to the genesis hash.
      return;
    }
    if (this.#options.allowPartialStart) {
      this.report.warnings.push(`the ledger starts at entry ${e.seq} (${at}); earlier entries were not given`);
      this.#expectSeq = e.seq;
      this.#prevHash = e.prev;
      return;
    }
    this.find({
      kind: 'truncated',
      seq: e.seq,
      message: `the ledger starts at entry ${e.seq} (${at}), not at entry 0: earlier entries are missing (cut from the front, or earlier files not given; pass them, or --allow-partial-start)`,
    });
    this.#expectSeq = e.seq;
    this.#prevHash = e.prev;
  }

  #inOrder(e: LedgerEntry, file: string, line: number): void {
    if (e.prev !== this.#prevHash && e.seq === 0) {
      this.find({ kind: 'edited', seq: 0, file, line, message: `entry 0 (${file}:${line}) does not start from the genesis hash: it was rewritten, or comes from another ledger` });
    } else if (e.prev !== this.#prevHash) {
      const before = this.report.head;
      this.find({
        kind: 'edited',
        seq: e.seq,
        file,
        line,
        message:
          `the chain breaks between entry ${e.seq - 1}${before ? ` (${before.file}:${before.line})` : ''} and entry ${e.seq} (${file}:${line}): ` +
          `entry ${e.seq}'s prev is not entry ${e.seq - 1}'s hash, so entry ${e.seq - 1} was rewritten (and re-hashed) or entry ${e.seq} comes from another history`,
      });
    }
    this.#advance(e, file, line);
  }

  #ahead(e: LedgerEntry, file: string, line: number): void {
    const after = this.report.head ?? { seq: this.#expectSeq - 1, hash: this.#prevHash, file, line: 0 };
    this.#gaps.set(this.#expectSeq, { end: e.seq - 1, after });
    this.#advance(e, file, line);
  }

  #behind(e: LedgerEntry, file: string, line: number): void {
    for (const [start, gap] of this.#gaps) {
      if (e.seq < start || e.seq > gap.end) continue;
      this.find({
        kind: 'reordered',
        seq: e.seq,
        file,
        line,
        message: `entry ${e.seq} (${file}:${line}) is out of order: it comes after entry ${this.#expectSeq - 1}`,
      });
      this.#gaps.delete(start);
      if (start < e.seq) this.#gaps.set(start, { end: e.seq - 1, after: gap.after });
      if (e.seq < gap.end) this.#gaps.set(e.seq + 1, { end: gap.end, after: gap.after });
      return;
    }
    const seen = this.#seen.get(e.seq);
    if (seen && seen.hash === e.hash) {
      this.find({ kind: 'duplicated', seq: e.seq, file, line, message: `entry ${e.seq} appears twice: ${seen.file}:${seen.line} and ${file}:${line}` });
    } else {
      this.find({
        kind: 'forked',
        seq: e.seq,
        file,
        line,
        message: `two different entries claim seq ${e.seq}${seen ? `: ${seen.file}:${seen.line} and ${file}:${line}` : ` (${file}:${line})`}: the ledger forked into two histories`,
      });
    }
  }

  #advance(e: LedgerEntry, file: string, line: number): void {
    this.#expectSeq = e.seq + 1;
    this.#prevHash = e.hash;
    this.report.head = { seq: e.seq, hash: e.hash, file, line };
  }

  #signature(e: LedgerEntry, file: string, line: number): void {
    const verifier = this.#options.verifier;
    if (!verifier) return;
    if (e.sig === undefined) {
      this.report.unsignedTail++;
      return;
    }
    if (verifier.verify(e.seq, e.hash, e.sig)) {
      this.report.signatures.valid++;
      this.report.signedHead = { seq: e.seq, hash: e.hash, file, line };
      this.report.unsignedTail = 0;
    } else {
      this.report.signatures.invalid++;
      this.report.unsignedTail++;
      this.find({
        kind: 'signature',
        seq: e.seq,
        file,
        line,
        message: `the signature on entry ${e.seq} (${file}:${line}) does not verify with key ${verifier.keyId}: this entry or its history was rewritten, or signed with another key`,
      });
    }
  }

  #decisions(e: LedgerEntry, file: string, line: number, inOrder: boolean): void {
    const id = (e.record as { decisionId?: unknown }).decisionId;
    if (typeof id !== 'string') return;
    if (e.kind === 'intent') this.#open.add(id);
    else if (!this.#open.delete(id) && inOrder && !this.#options.allowPartialStart) {
      this.find({
        kind: 'orphan',
        seq: e.seq,
        file,
        line,
        message: `entry ${e.seq} (${file}:${line}) records the outcome of decision ${id}, which has no intent entry before it`,
      });
    }
  }

  /** An unterminated line: a torn tail at the end of the last file, a cut file anywhere else. */
  unterminated(file: string, l: { line: number; bytes: number }, last: boolean): void {
    if (last) {
      this.report.tornTail = { file, line: l.line, bytes: l.bytes };
      this.report.warnings.push(`${file}:${l.line}: an unterminated last line (${l.bytes} bytes) is ignored: a write interrupted by a crash, never acknowledged`);
    } else {
      this.find({ kind: 'truncated', file, line: l.line, message: `${file} ends in the middle of an entry (line ${l.line}) but later files follow: the file was cut` });
    }
  }

  finish(): VerifyReport {
    this.#deletions();
    const w = this.#options.witnessedHead;
    if (w) this.#witness(w);
    this.#signedCoverage();
    if (this.#extraFindings > 0) this.report.warnings.push(`${this.#extraFindings} further findings not listed`);
    // Deletions are only known at the end: order by position so the first finding is where the chain first breaks.
    this.report.findings.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
    return this.report;
  }

  /** The gaps still open at the end: entries deleted. */
  #deletions(): void {
    for (const [start, gap] of this.#gaps) {
      const range = start === gap.end ? `entry ${start} is` : `entries ${start}–${gap.end} are`;
      this.find({ kind: 'deleted', seq: start, file: gap.after.file, message: `${range} missing after entry ${gap.after.seq} (${gap.after.file}:${gap.after.line}): deleted` });
    }
  }

  /** With a key: the ledger must carry valid signatures, and unsigned entries after the last signed head are findings unless allowed. */
  #signedCoverage(): void {
    const v = this.#options.verifier;
    if (!v) return;
    if (this.report.entries > 0 && this.report.signatures.valid === 0) {
      this.find({ kind: 'signature', message: `no entry carries a valid signature by key ${v.keyId}: the ledger was not signed with it, or its signatures were removed` });
      return;
    }
    if (this.report.unsignedTail === 0) return;
    const msg = `${this.report.unsignedTail} entries after the last signed head (entry ${this.report.signedHead?.seq}) are unsigned: written by an interrupted batch, or appended without the key`;
    if (this.#options.allowUnsignedTail) this.report.warnings.push(msg);
    else this.find({ kind: 'signature', message: `${msg} (--allow-unsigned-tail accepts them)` });
  }

  #witness(w: { seq: number; hash: string; signature?: string }): void {
    const v = this.#options.verifier;
    if (v && w.signature !== undefined && !v.verify(w.seq, w.hash, w.signature)) {
      this.find({ kind: 'signature', seq: w.seq, message: `the witnessed head (entry ${w.seq}) carries a signature that does not verify with key ${v.keyId}` });
    }
    const head = this.report.head;
    if (!head || head.seq < w.seq) {
      this.find({
        kind: 'truncated',
        seq: w.seq,
        message: `a head at entry ${w.seq} was witnessed, but the ledger ends at ${head ? `entry ${head.seq}` : 'no entry'}: entries after it were cut off`,
      });
      return;
    }
    const seen = this.#seen.get(w.seq);
    // A witness may hold only a prefix of the hash (the metric shows 48 bits).
    if (seen && !seen.hash.startsWith(w.hash)) {
      this.find({ kind: 'forked', seq: w.seq, message: `entry ${w.seq} (${seen.file}:${seen.line}) is not the witnessed head ${w.hash}: the ledger was rewritten from there` });
    } else if (!seen) {
      this.report.warnings.push(`the witnessed head (entry ${w.seq}) is too far back to compare`);
    }
  }
}

/** Verifies the chain across `files` (a ledger and its rotated segments, any order; local paths or shipped objects). */
export async function verifyLedger(files: LedgerInput[], options: VerifyOptions = {}): Promise<VerifyReport> {
  const ordered = await orderLedgerFiles(files);
  const walk = new Walk(ordered.map(inputName), options);
  const total = await totalBytes(ordered);
  let bytes = 0;
  for (let i = 0; i < ordered.length; i++) {
    const input = ordered[i]!;
    const file = inputName(input);
    for await (const l of readLines(input)) {
      bytes += l.bytes;
      if (!l.terminated) {
        walk.unterminated(file, l, i === ordered.length - 1);
        continue;
      }
      const parsed = parseEntry(l.text);
      if (parsed.ok) walk.entry(parsed.entry, file, l.line);
      else walk.corruptLine(file, l.line, parsed.problem);
      if (walk.report.entries % 50_000 === 0) options.onProgress?.({ bytes, totalBytes: total, entries: walk.report.entries });
    }
  }
  options.onProgress?.({ bytes, totalBytes: total, entries: walk.report.entries });
  return walk.finish();
}
