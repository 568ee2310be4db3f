/**
 * Finding where a ledger file's entries end, on open and for readers of its
 * last line.
 *
 * The active file may end in filler: newline bytes written ahead of the
 * entries (ledger-space.ts), so that a commit overwrites blocks the file
 * already has and its O_DSYNC write changes no metadata. Filler reads as
 * blank lines, which every reader skips. A crash in the middle of a commit
 * can leave the part of it that reached the disk: an unterminated line at
 * the end of a file without filler, or fragments of lines between blank
 * lines inside the filler. Neither was ever acknowledged (an append resolves
 * only once its whole write is durable), so both are cut off.
 */
import { ErrorCodes, PortcullisError } from '../errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import { entryHash, parseEntry } from './ledger-entry.ts';
import type { LedgerFile } from './ledger-fs.ts';

const NEWLINE = 0x0a;

/** The last newline-terminated line of the first `size` bytes of a file, reading backwards from the end. */
export async function lastCompleteLine(file: LedgerFile, size: number): Promise<string | undefined> {
  let chunk = 64 * 1024;
  for (;;) {
    const start = Math.max(0, size - chunk);
    const buf = await file.read(start, size - start);
    const end = buf.lastIndexOf(NEWLINE);
    if (end < 0 && start === 0) return undefined;
    const nl = end <= 0 ? -1 : buf.lastIndexOf(NEWLINE, end - 1);
    if ((end < 0 || nl < 0) && start > 0) {
      chunk *= 4;
      continue;
    }
    return buf.subarray(nl + 1, end).toString('utf8');
  }
}

/** The offset just after the last newline in the first `size` bytes (0 when there is none), reading backwards from the end. */
async function afterLastNewline(file: LedgerFile, size: number): Promise<number> {
  for (let chunk = 64 * 1024; ; chunk *= 4) {
    const start = Math.max(0, size - chunk);
    const nl = (await file.read(start, size - start)).lastIndexOf(NEWLINE);
    if (nl >= 0) return start + nl + 1;
    if (start === 0) return 0;
  }
}

/** The offset just after the last byte that is not a newline in the first `size` bytes (0 when there is none). */
async function afterLastText(file: LedgerFile, size: number): Promise<number> {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - 64 * 1024);
    const buf = await file.read(start, end - start);
    for (let i = buf.byteLength - 1; i >= 0; i--) if (buf[i] !== NEWLINE) return start + i + 1;
    end = start;
  }
  return 0;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the entries of the first `size` bytes end: after the newline of the
 * last line that is not a torn write's. An unterminated tail is torn; so is
 * a line that is not JSON with filler after it.
 */
async function entriesEnd(file: LedgerFile, size: number): Promise<number> {
  let end = await afterLastNewline(file, size);
  for (;;) {
    const text = await afterLastText(file, end);
    // Only filler (two newlines or more) after the line can hide a torn one.
    if (text === 0 || end - text < 2) return text === 0 ? 0 : end;
    const lineStart = await afterLastNewline(file, text);
    const line = (await file.read(lineStart, text - lineStart)).toString('utf8');
    if (isJson(line)) return text + 1;
    end = lineStart;
  }
}

/**
 * Cuts the file back to the end of its entries, filler and torn lines
 * included, and makes the cut durable. Resolves with the new size and the
 * last entry's line.
 */
export async function recoverTail(file: LedgerFile, path: string, logger?: Logger): Promise<{ line: string | undefined; size: number }> {
  const size = await file.size();
  const keep = size === 0 ? 0 : await entriesEnd(file, size);
  if (keep < size) {
    const filler = keep === (await afterLastText(file, size)) + (keep > 0 ? 1 : 0);
    if (!filler) logger?.warn({ file: path, cut: size - keep }, 'ledger: cutting the unfinished write left by an interrupted commit');
    await file.truncate(keep);
    await file.datasync();
  }
  return { line: keep === 0 ? undefined : await lastCompleteLine(file, keep), size: keep };
}

/** The chain head named by an entry's line; LEDGER_CORRUPT when the line is not a sound entry. */
export function headFromLine(line: string, path: string): { seq: number; hash: string; sig?: string } {
  const parsed = parseEntry(line);
  if (!parsed.ok || entryHash(parsed.entry) !== parsed.entry.hash) {
    throw new PortcullisError(
      ErrorCodes.LEDGER_CORRUPT,
      `the last entry of ${path} is corrupt (${parsed.ok ? 'hash mismatch' : parsed.problem}); run \`portcullis verify ${path}\` and move the file aside`,
      { file: path },
    );
  }
  return { seq: parsed.entry.seq, hash: parsed.entry.hash, ...(parsed.entry.sig ? { sig: parsed.entry.sig } : {}) };
}
