/**
 * An allowed tunnel's bytes, relayed both ways to the host it was decided
 * for: a CONNECT tunnel carrying TLS, or a captured TLS connection. Nothing
 * is read; the decision is finished once, with what went through (or why
 * nothing did).
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCodes } from '../errors.ts';
import type { ProxyContext } from './proxy-context.ts';
import type { Decided } from './decider.ts';

/** Relays both ways until either side ends or both are idle (each socket's timer is reset by its own traffic, which the pipes make mutual). */
export function splice(ctx: ProxyContext, decided: Decided, client: { socket: Socket | Duplex; first: Buffer }, to: { host: string; port: number }): void {
  const { socket, first } = client;
  const upstream: Socket = netConnect({ host: to.host, port: to.port });
  let bytes = 0;
  let idled = false;
  upstream.on('data', (c: Buffer) => (bytes += c.length));
  upstream.setTimeout(ctx.config.tunnelIdleTimeoutMs, () => {
    idled = true;
    upstream.destroy();
    socket.destroy();
  });
  upstream.once('connect', () => {
    if (socket.destroyed) return upstream.destroy();
    upstream.write(first);
    upstream.pipe(socket);
    socket.pipe(upstream);
    socket.resume();
  });
  upstream.once('error', () => socket.destroy());
  upstream.once('close', () => {
    if (idled) decided.finish({ status: 200, bytes, errorCode: ErrorCodes.REQUEST_TIMEOUT });
    else decided.finish(bytes > 0 || upstream.bytesWritten > 0 ? { status: 200, bytes } : { status: 0, bytes: 0, errorCode: ErrorCodes.UPSTREAM });
    socket.destroy();
  });
  socket.once('close', () => upstream.destroy());
}

