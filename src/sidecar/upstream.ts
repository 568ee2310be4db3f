/**
 * The one seam to upstream tools: an undici Agent with pooled keep-alive
 * connections per origin. Redirects are never followed: a 3xx goes back to the
 * agent, whose next request is a new call with a new decision.
 */
import { EventEmitter } from 'node:events';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { ErrorCodes, PortcullisError } from '../errors.ts';

export interface UpstreamRequest {
  /** `http://host:port` */
  origin: string;
  /** Path and query as sent on the request line. */
  path: string;
  method: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | string | undefined;
  timeoutMs: number;
  /** Aborts the request (the agent went away). */
  signal?: AbortSignal | undefined;
  /** A listening stream (MCP GET): no limit on the time between events. */
  stream?: boolean;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export interface UpstreamOptions {
  connections: number;
  keepAliveTimeoutMs?: number;
}

export class Upstream {
  readonly #agent: Agent;

  constructor(options: UpstreamOptions) {
    this.#agent = new Agent({
      connections: options.connections,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 4000,
      // Each pooled connection carries one request at a time: pipelining would
      // let one slow tool call hold up the ones queued behind it.
      pipelining: 1,
    });
  }

  /**
   * Sends the request; the response body streams. The answer's headers must
   * arrive within `timeoutMs`, timed by a timer of our own: undici's timers
   * tick about once a second, which made a 100 ms limit fire after one to two
   * seconds. The pauses in the body (none for a listening stream) are
   * undici's to time, where that resolution matters less.
   * Throws PortcullisError UPSTREAM or UPSTREAM_TIMEOUT.
   */
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const deadline = new Deadline();
    const timer = setTimeout(() => deadline.abort(new UpstreamDeadline()), req.timeoutMs);
    // undici takes one signal: with a caller's (the agent going away), both are joined as AbortSignals.
    const signal = req.signal ? AbortSignal.any([req.signal, deadline.asSignal()]) : deadline;
    try {
      const res = await this.#agent.request({
        origin: req.origin,
        path: req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers,
        body: req.body ?? null,
        signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.stream ? 0 : req.timeoutMs,
      });
      // Destroying a body we no longer want makes undici emit "Request
      // aborted" on it; that is expected, not a crash.
      res.body.on('error', () => undefined);
      return { statusCode: res.statusCode, headers: res.headers, body: res.body };
    } catch (e) {
      throw upstreamError(deadline.aborted ? deadline.reason : e, req);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** The reason our own deadline aborts a request with. */
class UpstreamDeadline extends Error {}

/**
 * The deadline's abort signal, as the EventEmitter undici also accepts: an
 * AbortController and its EventTarget listeners cost a measurable share of a
 * call, and nearly every call's deadline is cleared unused.
 */
class Deadline extends EventEmitter {
  aborted = false;
  reason: unknown;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }

  /** An AbortSignal that follows this deadline (to combine with a caller's). */
  asSignal(): AbortSignal {
    const c = new AbortController();
    if (this.aborted) c.abort(this.reason);
    else this.once('abort', () => c.abort(this.reason));
    return c.signal;
  }
}

export function upstreamError(e: unknown, req: Pick<UpstreamRequest, 'origin' | 'timeoutMs'>): PortcullisError {
  if (e instanceof PortcullisError) return e;
  if (e instanceof UpstreamDeadline || e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError) {
    return new PortcullisError(ErrorCodes.UPSTREAM_TIMEOUT, `the upstream ${req.origin} did not answer within ${req.timeoutMs} ms`);
  }
  const code = (e as { code?: string })?.code;
  return new PortcullisError(ErrorCodes.UPSTREAM, `the upstream ${req.origin} could not be reached: ${code ?? (e as Error)?.message ?? String(e)}`, { cause: code }, { cause: e });
}
