/**
 * A captured TLS connection (design.md §1, "transparently"): the agent
 * connected to some address on a TLS port and the pod's rules sent it here.
 * Its ClientHello's SNI names the host; the call is decided as `connect` on
 * that host and the port, exactly as `CONNECT host:port` is, and an allowed
 * one is spliced to the SNI host, never to the address the agent dialled: a
 * forged SNI reaches only the host it names. TLS is not terminated; a
 * ClientHello without a server name is refused, since there is nothing to
 * decide on.
 */
import type { Socket } from 'node:net';
import { splice } from './splice.ts';
import { buildConnectAction } from '../gate/http-action.ts';
import { toPortcullisError } from '../gate/error-response.ts';
import type { Action } from '../gate/types.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { tlsAlert } from '../capture/client-hello.ts';
import type { ProxyContext } from './proxy-context.ts';
import type { Decided } from './decider.ts';
import { metricToolFor } from './metric-tool.ts';

function stubConnect(host: string, port: number): Action {
  return { type: 'connect', tool: host, http: { method: 'CONNECT', scheme: 'https', host, port, path: '', rawPath: '', query: {}, headers: {} } };
}

/** Ends the agent's connection with a TLS alert, which its TLS library reports instead of a bare reset. */
function refuseTls(socket: Socket, alert: Parameters<typeof tlsAlert>[0]): void {
  if (!socket.destroyed) socket.end(tlsAlert(alert));
}

/** Records a refusal of what could not be decided, and ends the connection. */
export async function refuseCapturedTls(ctx: ProxyContext, socket: Socket, port: number, why: string): Promise<void> {
  const err = new PortcullisError(ErrorCodes.BAD_REQUEST, `a captured TLS connection to port ${port} was refused: ${why}`, { port });
  await ctx.decider.refuse(stubConnect('', port), err, { headers: {} }).catch((e: unknown) => ctx.logger?.error({ err: e }, 'a refusal could not be recorded'));
  refuseTls(socket, 'handshake_failure');
}

/** Decides and, if allowed, splices a captured TLS connection whose ClientHello (`first`) named `serverName`. */
export async function handleCapturedTls(ctx: ProxyContext, socket: Socket, hello: { first: Buffer; serverName: string; port: number }): Promise<void> {
  const { first, serverName, port } = hello;
  const controller = new AbortController();
  socket.once('close', () => controller.abort(new Error('the agent disconnected')));
  let action: Action;
  try {
    action = buildConnectAction(`${serverName}:${port}`, {}, ctx.config.redactHeaders);
  } catch (e) {
    const err = toPortcullisError(e);
    await ctx.decider.refuse(stubConnect(serverName, port), err, { headers: {} }).catch(() => undefined);
    return refuseTls(socket, 'handshake_failure');
  }
  const { scheme, host: sniHost, port: sniPort } = action.http!;
  const metricTool = metricToolFor({ scheme, host: sniHost, port: sniPort }, ctx.engine.current()?.tools);
  const decided = await ctx.decider.decide(action, { headers: {}, signal: controller.signal, metricTool });
  if (decided.outcome.kind === 'deny') {
    decided.finish({ status: 0, bytes: 0, errorCode: decided.outcome.error.code });
    return refuseTls(socket, 'access_denied');
  }
  if (socket.destroyed) return decided.finish({ status: 0, bytes: 0, errorCode: ErrorCodes.UPSTREAM });
  // The decided action's host: the SNI's, or what a compute rewrite made of it; never the dialled address.
  const { host, port: toPort } = decided.outcome.action.http!;
  splice(ctx, decided, { socket, first }, { host, port: toPort });
}
