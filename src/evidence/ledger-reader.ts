/**
 * Reads ledger files line by line, streaming, with the position of every line
 * (so reports can say "file:line") and whether the file's last line was cut
 * short. Lines are split on bytes, so a multi-byte character split across two
 * reads is never damaged.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { parseEntry } from './ledger-entry.ts';

export interface LedgerLine {
  file: string;
  /** 1-based. */
  line: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  text: string;
  /** False for a last line without its newline: an interrupted write, or a cut file. */
  terminated: boolean;
  /** Bytes of the line, newline included. */
  bytes: number;
}

/**
 * A ledger file somewhere else than the local disk (an object in a bucket):
 * named for reports, sized for progress, read as a stream.
 */
export interface LedgerSource {
  /** What reports call it, e.g. `s3://bucket/ledgers/ns/pod/segments/…jsonl`. */
  readonly name: string;
  size(): Promise<number>;
  /** Sequence number of its first entry, when known without reading it (from the object's name). */
  firstSeq(): Promise<number | undefined>;
  open(): Promise<AsyncIterable<Buffer>>;
}

/** A local path, or a source read from elsewhere. */
export type LedgerInput = string | LedgerSource;

export function inputName(input: LedgerInput): string {
  return typeof input === 'string' ? input : input.name;
}

/** The lines of one file, in order. */
export async function* readLines(input: LedgerInput): AsyncGenerator<LedgerLine> {
  const file = inputName(input);
  let carry: Buffer[] = [];
  let carryLen = 0;
  let line = 0;
  let offset = 0;
  const stream = typeof input === 'string' ? (createReadStream(input, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) : await input.open();
  for await (const chunk of stream) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      const buf = carryLen > 0 ? Buffer.concat([...carry, piece]) : piece;
      carry = [];
      carryLen = 0;
      yield { file, line: ++line, offset, text: buf.toString('utf8'), terminated: true, bytes: buf.byteLength + 1 };
      offset += buf.byteLength + 1;
      start = nl + 1;
    }
    if (start < chunk.byteLength) {
      carry.push(chunk.subarray(start));
      carryLen += chunk.byteLength - start;
    }
  }
  if (carryLen > 0) {
    const buf = Buffer.concat(carry);
    yield { file, line: ++line, offset, text: buf.toString('utf8'), terminated: false, bytes: buf.byteLength };
  }
}

/** Sequence number of the first entry of a file, or undefined when it has none readable. */
export async function firstSeq(file: string): Promise<number | undefined> {
  const h = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    let text = '';
    let pos = 0;
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.byteLength, pos);
      if (bytesRead === 0) break;
      const part = buf.subarray(0, bytesRead);
      const nl = part.indexOf(0x0a);
      text += part.subarray(0, nl < 0 ? bytesRead : nl).toString('utf8');
      if (nl >= 0) break;
      pos += bytesRead;
      if (pos > 256 * 1024 * 1024) return undefined;
    }
    const parsed = parseEntry(text);
    return parsed.ok ? parsed.entry.seq : undefined;
  } finally {
    await h.close();
  }
}

/** Orders ledger files by the sequence number of their first entry (files without one keep their place at the end). */
export async function orderLedgerFiles<T extends LedgerInput>(files: T[]): Promise<T[]> {
  const keyed = await Promise.all(files.map(async (f, i) => ({ f, i, seq: typeof f === 'string' ? await firstSeq(f) : await f.firstSeq() })));
  return keyed
    .sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER) || a.i - b.i)
    .map((k) => k.f);
}

/** Total size of the files, for progress reports. */
export async function totalBytes(files: LedgerInput[]): Promise<number> {
  let total = 0;
  for (const f of files) total += typeof f === 'string' ? (await stat(f)).size : await f.size();
  return total;
}
