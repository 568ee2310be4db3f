/**
 * `CONNECT host:port` (HTTPS through the proxy): decided on the host and port
 * alone, since the content is encrypted end to end. A tunnel is opened only
 * when the decision allows it.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { buildConnectAction } from '../gate/http-action.ts';
import { errorBody, httpStatusFor, toPortcullisError } from '../gate/error-response.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { STATUS_CODES } from 'node:http';
import type { Action } from '../gate/types.ts';
import type { ProxyContext } from './proxy-context.ts';

function writeError(socket: Duplex, e: PortcullisError, refs: { decisionId?: string; traceId?: string }): void {
  if (socket.destroyed) return;
  const status = httpStatusFor(e.code);
  const body = JSON.stringify(errorBody(e, refs));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export async function handleConnect(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
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
  const decided = await ctx.decider.decide(action, { headers: req.headers, signal: controller.signal });
  const refs = { decisionId: decided.decisionId, traceId: decided.traceId };
  if (decided.outcome.kind === 'deny') {
    decided.finish({ status: 0, bytes: 0, errorCode: decided.outcome.error.code });
    return writeError(socket, decided.outcome.error, refs);
  }
  const { host, port } = decided.outcome.action.http!;
  const upstream: Socket = netConnect({ host, port });
  let bytes = 0;
  let opened = false;
  upstream.on('data', (c: Buffer) => (bytes += c.length));
  upstream.once('connect', () => {
    opened = true;
    if (socket.destroyed) return upstream.destroy();
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.once('error', (e) => {
    if (!opened) {
      const err = new PortcullisError(ErrorCodes.UPSTREAM, `could not open a tunnel to ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
      decided.finish({ status: 0, bytes: 0, errorCode: err.code });
      return writeError(socket, err, refs);
    }
    socket.destroy();
  });
  upstream.once('close', () => {
    if (opened) decided.finish({ status: 200, bytes });
    socket.destroy();
  });
  socket.once('close', () => upstream.destroy());
}
