/**
 * The pino logger factory. JSON lines, one per decision at `info` with the
 * trace ID; secret headers are redacted wherever a `headers` object appears.
 * Nothing is created at import: the logger is made at start-up and passed in.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { EnforcedEffect } from '../evidence/recorder.ts';
import type { Effect, Mode } from '../gate/types.ts';
import { DEFAULT_REDACTED_HEADERS } from '../gate/headers.ts';
import { REDACTED, redactHeadersDeep } from './redaction.ts';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** pino level: `fatal` … `trace`, or `silent`. Default `info`. */
  level?: string;
  /** Added to every line as `name` (e.g. `sidecar`, `controller`). */
  name?: string;
  /** Where lines go; default stdout. Tests pass a stream they read back. */
  destination?: DestinationStream;
  /** Header names to redact; default the gate's DEFAULT_REDACTED_HEADERS. The sidecar passes its configured list (PORTCULLIS_REDACT_HEADERS). */
  redactHeaders?: readonly string[];
  /** Further pino redaction paths (fixed paths only: wildcards are slow). */
  redactPaths?: string[];
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const names = options.redactHeaders ?? DEFAULT_REDACTED_HEADERS;
  const secret = new Set(names.map((n) => n.toLowerCase()));
  const opts = {
    level: options.level ?? 'info',
    ...(options.name ? { name: options.name } : {}),
    ...(options.redactPaths?.length ? { redact: { paths: options.redactPaths, censor: REDACTED } } : {}),
    base: { pid: process.pid },
    timestamp: isoTimeByMillisecond(),
    formatters: {
      level: (label: string) => ({ level: label }),
      // Secret headers are found by walking the line, not with pino's redact
      // paths: those are case-sensitive, fixed-depth, and cost ~200 µs a line
      // once they cover every depth (bench/evidence.ts); this costs a few µs.
      log: (object: Record<string, unknown>) => redactHeadersDeep(object, secret) as Record<string, unknown>,
    },
  };
  return pino(opts, options.destination ?? bufferedStdout());
}

/**
 * pino's ISO timestamp, made once per millisecond: a busy gate writes several
 * lines a millisecond, and formatting a date is a measurable part of a line.
 */
function isoTimeByMillisecond(): () => string {
  let last = -1;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== last) {
      last = now;
      text = `,"time":"${new Date(now).toISOString()}"`;
    }
    return text;
  };
}

/** Log lines gathered before one write to stdout, and how long a line may wait at most. */
const STDOUT_BUFFER_BYTES = 8 * 1024;
const STDOUT_FLUSH_MS = 200;

/**
 * Stdout, written in batches: one line per decision written on its own costs
 * a write (and a hand-off to the thread pool) per request, several times the
 * cost of making the line. Lines wait for 8 KiB or 200 ms at most; pino
 * flushes what is left when the process exits.
 */
function bufferedStdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, minLength: STDOUT_BUFFER_BYTES, sync: false });
  const timer = setInterval(() => dest.flush(), STDOUT_FLUSH_MS);
  timer.unref();
  return dest;
}

/** The fields of the one line logged per decision. */
export interface DecisionLogFields {
  decisionId: string;
  traceId: string;
  tool: string;
  mode: Mode;
  effect: Effect;
  enforcedEffect: EnforcedEffect;
  reason: string;
  bundle: string;
  policyDigest: string;
  inputHash: string;
  /** Ledger sequence of the intent entry, when recorded. */
  seq?: number;
  /** Upstream status and output hash, when the action ran. */
  status?: number;
  outputHash?: string;
  latencyMs?: number;
  errorCode?: string;
}

/** Whether decision lines are written (their level, info, is enabled): only then are their fields worth making. */
export function logsDecisions(logger: Logger | undefined): logger is Logger {
  return logger?.isLevelEnabled('info') === true;
}

/** Logs one decision at info. Only hashes and names: never the input itself. */
export function logDecision(logger: Logger, fields: DecisionLogFields): void {
  logger.info({ event: 'decision', ...fields }, `${fields.enforcedEffect} ${fields.tool}: ${fields.reason}`);
}
