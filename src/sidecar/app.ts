/**
 * The sidecar's data plane as a fastify app (built here, listened on by the
 * commands): absolute-form forward proxy, named `/mcp/<server>/…` and
 * `/tools/<name>/…` routes, `CONNECT`. Routing is by the raw request target,
 * so fastify's router sees one route and never decodes a path the gate must
 * read itself.
 */
import { createServer, METHODS, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { SidecarConfig } from '../config/config.ts';
import type { PolicyEngine } from '../policy/types.ts';
import type { ApprovalBroker } from '../gate/types.ts';
import type { EvidenceRecorder } from '../evidence/recorder.ts';
import type { Tracing } from '../telemetry/tracing.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { Logger } from '../telemetry/logger.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { errorBody, httpStatusFor } from '../gate/error-response.ts';
import { UNKNOWN_AGENT } from '../gate/input.ts';
import { Decider } from './decider.ts';
import { Upstream } from './upstream.ts';
import { resolveTarget } from './routes.ts';
import { handleHttp } from './http-proxy.ts';
import { handleMcp } from './mcp-proxy.ts';
import { ListedTools } from './listed-tools.ts';
import { handleConnect, tunnelAuthority } from './connect-tunnel.ts';
import { refuse, sendError, type ProxyContext } from './proxy-context.ts';
import { isRelayError } from './relay.ts';
import { clientErrorHandler } from './client-error.ts';
import { CredentialStore } from './credentials.ts';
import { capturedHttpTarget, createCaptureListeners, type CaptureListeners } from './capture-listeners.ts';
import { approvalPageUrl } from './approval-url.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The capture listeners when capture is configured (started and checked by serve.ts), else null. */
    capture: CaptureListeners | null;
  }
}

export interface SidecarDeps {
  engine: PolicyEngine;
  recorder?: EvidenceRecorder;
  tracing?: Tracing;
  metrics?: PortcullisMetrics;
  logger?: Logger;
  approvals?: ApprovalBroker;
  /** Wall clock for decision times. */
  clock?: () => Date;
  /** Decision IDs (also the approval IDs of escalations). */
  ids?: () => string;
  /** Bundle name for records; default the config's. */
  bundleName?: () => string;
  upstream?: Upstream;
}

export function buildSidecar(config: Readonly<SidecarConfig>, deps: SidecarDeps): FastifyInstance {
  const upstream = deps.upstream ?? new Upstream({ connections: config.upstreamConnections });
  const decider = newDecider(config, deps);
  const credentials = config.credentials ? new CredentialStore(config.credentials) : undefined;
  const ctx: ProxyContext = { config, engine: deps.engine, decider, upstream, logger: deps.logger, metrics: deps.metrics, credentials, listedTools: new ListedTools() };

  const app = Fastify({
    logger: false,
    bodyLimit: config.bodyLimitBytes,
    rewriteUrl: () => '/',
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    return503OnClosing: true,
    // Streams (MCP SSE) never end by themselves: closing the proxy cuts them.
    forceCloseConnections: true,
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: config.requestTimeoutMs,
          headersTimeout: config.headersTimeoutMs,
          keepAliveTimeout: config.keepAliveTimeoutMs,
          // Timeouts are checked on this interval; the default (30 s) would let slow clients linger.
          connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
        },
        handler as (req: IncomingMessage, res: ServerResponse) => void,
      ) as Server,
    clientErrorHandler: clientErrorHandler(decider),
  });
  const capture = config.capture?.enabled ? createCaptureListeners(ctx, app.server, config.capture) : null;
  app.decorate('capture', capture);
  app.removeAllContentTypeParsers();
  // Bodies are read raw: the gate parses JSON itself (duplicate keys are refused).
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler(async (err: Error & { code?: string; statusCode?: number }, req: FastifyRequest, reply: FastifyReply) => {
    const e =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new PortcullisError(ErrorCodes.BODY_TOO_LARGE, `the request body is over the ${config.bodyLimitBytes}-byte limit (PORTCULLIS_BODY_LIMIT_BYTES)`)
        : err instanceof PortcullisError
          ? err
          : (err.statusCode ?? 500) < 500
            ? new PortcullisError(ErrorCodes.BAD_REQUEST, `the request could not be read: ${err.message}`)
            : err;
    deps.logger?.debug({ err }, 'request refused');
    // A response that failed while relayed belongs to a decision already recorded.
    if (isRelayError(err)) return sendError(reply, e as PortcullisError, {});
    return refuse(ctx, { req, reply }, e);
  });
  acceptEveryMethod(app);
  // A request no route takes is refused with a record, never answered by the framework alone.
  app.setNotFoundHandler(async (req, reply) => refuse(ctx, { req, reply }, new PortcullisError(ErrorCodes.BAD_REQUEST, `${req.method} is not a method the proxy can decide`)));
  app.all('/', async (req, reply) => {
    const url = req.originalUrl ?? req.url;
    let target;
    // Inside a plain-HTTP tunnel, origin-form requests go to the tunnel's host.
    const tunnel = url.startsWith('/') ? tunnelAuthority(req.raw.socket) : undefined;
    if (tunnel) return handleHttp(ctx, req, reply, { kind: 'forward', scheme: 'http', authority: tunnel, target: url });
    // Captured by the pod's rules: the Host header is the destination, never a named route.
    if (capture?.isCaptured(req.raw.socket)) {
      try {
        target = capturedHttpTarget(url, req.headers.host);
      } catch (e) {
        return refuse(ctx, { req, reply }, e);
      }
      return handleHttp(ctx, req, reply, target);
    }
    try {
      target = resolveTarget(url, deps.engine.current()?.tools);
    } catch (e) {
      return refuse(ctx, { req, reply }, e);
    }
    if (target.kind === 'mcp') return handleMcp(ctx, req, reply, target);
    return handleHttp(ctx, req, reply, target);
  });
  app.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleConnect(ctx, { req, socket, head }, app.server).catch((e: unknown) => {
      deps.logger?.error({ err: e }, 'CONNECT failed');
      socket.destroy();
    });
  });
  app.addHook('onClose', async () => {
    await capture?.close();
    if (!deps.upstream) await upstream.close();
  });
  return app;
}

function newDecider(config: Readonly<SidecarConfig>, deps: SidecarDeps): Decider {
  return new Decider({
    engine: deps.engine,
    // Read once per decision (decision-frame.ts): the bundle, and the mode it may carry, is hot-swapped.
    modeOf: (bundle) => (config.modeFromBundle ? bundle?.mode : undefined) ?? config.mode,
    agent: { ...UNKNOWN_AGENT, ...config.agent },
    bundleName: deps.bundleName ?? (() => config.bundleName),
    evalSlowMs: config.evalSlowMs,
    escalationTimeoutSeconds: config.escalationTimeoutSeconds,
    recorder: deps.recorder,
    tracing: deps.tracing,
    metrics: deps.metrics,
    logger: deps.logger,
    approvals: deps.approvals,
    clock: deps.clock ?? (() => new Date()),
    ids: deps.ids ?? randomUUID,
    now: () => performance.now(),
    approvalUrl: (id) => approvalPageUrl(config, id),
  });
}

function acceptEveryMethod(app: FastifyInstance): void {
  // Every method Node's parser accepts is a call to decide: WebDAV's
  // PROPFIND, MKCOL, LOCK, SEARCH… would otherwise get the router's 404,
  // undecided and unrecorded. They may carry a body, so the gate reads it.
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
  }
  // A GET may carry a body too (search APIs take their query in one): it is
  // read and decided like any other, never dropped on the way.
  for (const method of ['GET', 'TRACE']) {
    app.addHttpMethod(method, { hasBody: true, overrideExisting: true });
  }
}
