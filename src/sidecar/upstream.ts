/**
 * The one seam to upstream tools: an undici Agent with pooled keep-alive
 * connections per origin. Redirects are never followed: a 3xx goes back to the
 * agent, whose next request is a new call with a new decision.
 */
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
  /**
   * The call's controller, aborted when the agent disconnects; the timeout
   * aborts it too (one controller per call, no AbortSignal.any on the hot path).
   */
  controller?: AbortController | undefined;
  /** A listening stream (MCP GET): no limit on the time between events. */
  stream?: boolean;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** Cancels the timeout once the body has been read. */
  done(): void;
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
   * Sends the request; the response body streams. The timeout covers the
   * whole exchange: headers and body. Throws PortcullisError UPSTREAM or
   * UPSTREAM_TIMEOUT.
   */
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const controller = req.controller ?? new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new PortcullisError(ErrorCodes.UPSTREAM_TIMEOUT, `the upstream did not answer within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    const signal = controller.signal;
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
      // An event stream lasts as long as it lasts: past its headers only the
      // idle time between chunks is limited (bodyTimeout).
      const contentType = String(res.headers['content-type'] ?? '');
      if (req.stream || contentType.startsWith('text/event-stream')) clearTimeout(timer);
      // Destroying a body we no longer want makes undici emit "Request
      // aborted" on it; that is expected, not a crash.
      res.body.on('error', () => undefined);
      // The timeout keeps running while the body streams; a stalled body is aborted too.
      return { statusCode: res.statusCode, headers: res.headers, body: res.body, done: () => clearTimeout(timer) };
    } catch (e) {
      clearTimeout(timer);
      throw upstreamError(e, req, timedOut);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

export function upstreamError(e: unknown, req: Pick<UpstreamRequest, 'origin' | 'timeoutMs'>, timedOut = false): PortcullisError {
  if (e instanceof PortcullisError) return e;
  if (timedOut || e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError) {
    return new PortcullisError(ErrorCodes.UPSTREAM_TIMEOUT, `the upstream ${req.origin} did not answer within ${req.timeoutMs} ms`);
  }
  const code = (e as { code?: string })?.code;
  return new PortcullisError(ErrorCodes.UPSTREAM, `the upstream ${req.origin} could not be reached: ${code ?? (e as Error)?.message ?? String(e)}`, { cause: code }, { cause: e });
}
