/**
 * Sends OTLP/HTTP protobuf requests (`POST …/v1/traces`, the OTLP
 * specification's "OTLP/HTTP") over a small undici pool. A collector that is
 * busy (429, 502, 503, 504) or unreachable is tried again, twice, after a
 * growing pause or the `Retry-After` it asks for, all within the export
 * timeout; any other answer fails the request at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

const RETRYABLE = new Set([429, 502, 503, 504]);
const RETRIES = 2;
const FIRST_PAUSE_MS = 500;
/** Longest `Retry-After` followed; a longer one fails the export instead of holding the batch. */
const MAX_RETRY_AFTER_MS = 5000;

export interface OtlpHttpOptions {
  url: string;
  headers: Readonly<Record<string, string>>;
  /** Whole export, retries included. */
  timeoutMs: number;
}

export interface OtlpTransport {
  /** Resolves once the collector accepted the request; rejects with why not. */
  send(body: Buffer): Promise<void>;
  /** Drops connections and pending retries at once. */
  destroy(): Promise<void>;
}

class ExportRefused extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function otlpHttpTransport(options: OtlpHttpOptions): OtlpTransport {
  const url = new URL(options.url);
  const pool = new Pool(url.origin, { connections: 2, keepAliveTimeout: 30_000 });
  const headers = { ...options.headers, 'content-type': 'application/x-protobuf' };
  const path = url.pathname + url.search;
  const stop = new AbortController();

  const attempt = async (body: Buffer, timeoutMs: number): Promise<void> => {
    let res;
    try {
      res = await pool.request({ method: 'POST', path, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: stop.signal });
    } catch (e) {
      throw new ExportRefused(`cannot reach ${options.url}: ${(e as Error).message}`, true);
    }
    if (res.statusCode < 300) {
      await res.body.dump();
      return;
    }
    const text = (await res.body.text()).slice(0, 200);
    throw new ExportRefused(`${options.url} answered ${res.statusCode}${text ? `: ${text}` : ''}`, RETRYABLE.has(res.statusCode), retryAfterMs(res.headers['retry-after']));
  };

  return {
    async send(body) {
      const deadline = Date.now() + options.timeoutMs;
      for (let i = 0; ; i++) {
        try {
          return await attempt(body, Math.max(1, deadline - Date.now()));
        } catch (e) {
          const refused = e as ExportRefused;
          const pause = refused.retryAfterMs ?? FIRST_PAUSE_MS * 2 ** i * (0.5 + Math.random());
          const retry = refused.retryable && i < RETRIES && pause <= MAX_RETRY_AFTER_MS && Date.now() + pause < deadline && !stop.signal.aborted;
          if (!retry) throw e;
          // Holds the process like a request in flight would, until `destroy` (tracing's shutdown, after its deadline) ends it.
          await sleep(pause, undefined, { signal: stop.signal });
        }
      }
    },
    async destroy() {
      stop.abort();
      await pool.destroy();
    },
  };
}
