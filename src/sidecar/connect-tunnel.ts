/**
 * `CONNECT host:port`: decided on the host and port; a tunnel is opened only
 * when the decision allows it. What then flows through it decides the rest:
 * a TLS handshake is relayed as it is, since its content is not visible;
 * anything else is handed to the proxy's own HTTP server, so every request
 * inside the tunnel (what undici's ProxyAgent sends even for `http://` URLs)
 * is decided like any other, and bytes that are not HTTP are refused there.
 * Recognising TLS rather than HTTP is what keeps this sound: a request split
 * across writes, led by a CRLF or with an unusual method is still HTTP to the
 * upstream, and would pass undecided if only what looks like HTTP were read.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Server } from 'node:http';
import { formatAuthority } from '../gate/host.ts';
import { buildConnectAction } from '../gate/http-action.ts';
import { errorBody, httpStatusFor, toPortcullisError } from '../gate/error-response.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { STATUS_CODES } from 'node:http';
import type { Action } from '../gate/types.ts';
import type { ProxyContext } from './proxy-context.ts';
import { metricToolFor } from './metric-tool.ts';
import { splice } from './splice.ts';

/** Sockets of allowed tunnels that carry plain HTTP → the `host:port` their requests go to. */
const plainTunnels = new WeakMap<object, string>();

/** The authority of the tunnel a request arrived through, if it came through one. */
export function tunnelAuthority(socket: object | null | undefined): string | undefined {
  return socket ? plainTunnels.get(socket) : undefined;
}

/** A TLS record header: handshake (22), protocol major version 3, minor 0–4 (SSL 3.0 to TLS 1.3). */
function isTlsHandshake(first: Buffer): boolean {
  return first[0] === 0x16 && first[1] === 0x03 && first[2]! <= 0x04;
}

/** Bytes needed to tell a TLS record header from anything else. */
const TLS_HEADER_PEEK = 3;

/**
 * The tunnel's first bytes; 'closed' when the agent ends or closes it first
 * (a half-close included: the socket would otherwise sit in CLOSE_WAIT),
 * 'idle' when nothing arrives within the idle timeout.
 */
function firstChunk(socket: Duplex, head: Buffer, idleMs: number): Promise<Buffer | 'closed' | 'idle'> {
  if (head.length > 0) return Promise.resolve(head);
  return new Promise((resolve) => {
    const done = (v: Buffer | 'closed' | 'idle'): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClose);
      socket.off('close', onClose);
      resolve(v);
    };
    const onData = (c: Buffer): void => {
      socket.pause();
      done(c);
    };
    const onClose = (): void => done('closed');
    const timer = setTimeout(() => done('idle'), idleMs);
    socket.once('data', onData);
    socket.once('end', onClose);
    socket.once('close', onClose);
    socket.resume();
  });
}

/** At least `n` of the tunnel's first bytes (fewer only if the agent stops sending), or why there are none. */
async function firstBytes(socket: Duplex, head: Buffer, n: number, idleMs: number): Promise<Buffer | 'closed' | 'idle'> {
  let got = await firstChunk(socket, head, idleMs);
  while (typeof got !== 'string' && got.length < n) {
    const more = await firstChunk(socket, Buffer.alloc(0), idleMs);
    // A short prefix followed by a close or silence is handed on as it is: the HTTP server refuses it.
    if (typeof more === 'string') return got;
    got = Buffer.concat([got, more]);
  }
  return got;
}

function writeError(socket: Duplex, e: PortcullisError, refs: { decisionId?: string; traceId?: string }): void {
  if (socket.destroyed) return;
  const status = httpStatusFor(e.code);
  const body = JSON.stringify(errorBody(e, refs));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export async function handleConnect(ctx: ProxyContext, upgrade: { req: IncomingMessage; socket: Duplex; head: Buffer }, server: Server): Promise<void> {
  const { req, socket, head } = upgrade;
  socket.on('error', () => undefined);
  const controller = new AbortController();
  socket.once('close', () => controller.abort(new Error('the agent disconnected')));
  let action: Action;
  try {
    action = buildConnectAction(req.url ?? '', req.headers, ctx.config.redactHeaders);
  } catch (e) {
    const err = toPortcullisError(e);
    const stub: Action = { type: 'connect', tool: '', http: { method: 'CONNECT', scheme: 'https', host: '', port: 0, path: '', rawPath: String(req.url).slice(0, 2048), query: {}, headers: {} } };
    const refs = await ctx.decider.refuse(stub, err, { headers: req.headers }).catch(() => ({}));
    return writeError(socket, err, refs);
  }
  // The tunnel's path is unseen: the catalog tool is found by origin alone.
  const { scheme, host: toHost, port: toPort } = action.http!;
  const metricTool = metricToolFor({ scheme, host: toHost, port: toPort }, ctx.engine.current()?.tools);
  const decided = await ctx.decider.decide(action, { headers: req.headers, signal: controller.signal, metricTool });
  const refs = { decisionId: decided.decisionId, traceId: decided.traceId };
  if (decided.outcome.kind === 'deny') {
    decided.finish({ status: 0, bytes: 0, errorCode: decided.outcome.error.code });
    return writeError(socket, decided.outcome.error, refs);
  }
  const { host, port } = decided.outcome.action.http!;
  if (socket.destroyed) return decided.finish({ status: 0, bytes: 0, errorCode: ErrorCodes.UPSTREAM });
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  const first = await firstBytes(socket, head, TLS_HEADER_PEEK, ctx.config.tunnelIdleTimeoutMs);
  if (first === 'closed' || first === 'idle') {
    // Nothing was sent upstream: the outcome says why, and the agent's socket is not left half-open.
    socket.destroy();
    return decided.finish({ status: 200, bytes: 0, errorCode: first === 'idle' ? ErrorCodes.REQUEST_TIMEOUT : ErrorCodes.BAD_REQUEST });
  }
  if (!isTlsHandshake(first)) {
    decided.finish({ status: 200, bytes: 0 });
    plainTunnels.set(socket, formatAuthority(host, port));
    socket.unshift(first);
    server.emit('connection', socket);
    // Paused while peeking: a new 'data' listener does not restart an explicitly paused stream.
    socket.resume();
    return;
  }
  splice(ctx, decided, { socket, first }, { host, port });
}
