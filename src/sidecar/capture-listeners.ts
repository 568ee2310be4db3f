/**
 * The sidecar's capture listeners (design.md §1, "transparently"): where the
 * pod's nftables rules (src/capture/nft-rules.ts) send the agent's TCP.
 *
 * - The HTTP listener hands each connection to the proxy's own HTTP server,
 *   marked as captured: an origin-form request there goes to its Host
 *   header, decided and forwarded exactly like a forward-proxy request.
 * - One TLS listener per captured TLS port (Node cannot read a redirected
 *   connection's original destination, so the listener says the port):
 *   tls-capture.ts.
 *
 * They listen on loopback only (127.0.0.1 and ::1, where the kernel's
 * redirect delivers): reachable from the pod's network alone, never from
 * other pods, so they are no open proxy.
 *
 * The probe: the rules redirect one loopback port per listener, for the
 * sidecar's own UID only, to that listener. A probe connection that reaches
 * the listener (it answers the nonce the probe sent) shows that the rules
 * this sidecar expects are installed in its network namespace, with its own
 * listener ports; the rules are installed in one transaction, so the probe
 * redirects are there only with all the others.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { CaptureConfig } from '../config/capture.ts';
import { captureListeners } from '../capture/rule-input.ts';
import { parseClientHello } from '../capture/client-hello.ts';
import type { ProxyContext } from './proxy-context.ts';
import { handleCapturedTls, refuseCapturedTls } from './tls-capture.ts';
import { resolveTarget, type ForwardTarget } from './routes.ts';
import { ErrorCodes, PortcullisError } from '../errors.ts';

const PROBE_PREFIX = 'PORTCULLIS-CAPTURE-PROBE ';
const PROBE_ANSWER = 'OK ';
/** How long a probe waits for its listener's answer. */
const PROBE_TIMEOUT_MS = 2000;

export interface CaptureListeners {
  /** Listens on every capture port; throws when a port cannot be had. */
  listen(): Promise<void>;
  /** Probes every listener through the rules; the problems found, empty when capture is active. */
  check(): Promise<string[]>;
  /** Whether an HTTP request's socket came through the transparent HTTP listener. */
  isCaptured(socket: object | null | undefined): boolean;
  close(): Promise<void>;
}

/** The first bytes a client sends, or undefined when it closes or stays silent for `idleMs`. */
function readUntil(socket: Socket, idleMs: number, enough: (data: Buffer) => boolean): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    const done = (v: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
      socket.pause();
      resolve(v);
    };
    const onData = (c: Buffer): void => {
      data = Buffer.concat([data, c]);
      if (enough(data)) done(data);
    };
    const onClose = (): void => done(undefined);
    const timer = setTimeout(() => done(undefined), idleMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('end', onClose);
  });
}

const isProbe = (data: Buffer): boolean => data.subarray(0, PROBE_PREFIX.length).toString('latin1') === PROBE_PREFIX;
/** Enough of the first bytes to tell a probe from a request: the prefix, or a byte where they differ. */
const tellsProbe = (data: Buffer): boolean => data.length >= PROBE_PREFIX.length || !PROBE_PREFIX.startsWith(data.toString('latin1'));

export function createCaptureListeners(ctx: ProxyContext, httpServer: HttpServer, capture: CaptureConfig): CaptureListeners {
  const plan = captureListeners(capture);
  const captured = new WeakSet<object>();
  const pendingProbes = new Set<string>();
  const servers: Server[] = [];
  const idleMs = ctx.config.headersTimeoutMs;

  /** Answers a probe whose nonce this sidecar sent; anything else claiming to be one is closed. */
  const answerProbe = (socket: Socket, data: Buffer): void => {
    const nonce = data.subarray(PROBE_PREFIX.length).toString('latin1').trim();
    if (pendingProbes.has(nonce)) socket.end(PROBE_ANSWER + nonce + '\n');
    else socket.destroy();
  };

  const onHttp = async (socket: Socket): Promise<void> => {
    socket.on('error', () => undefined);
    const first = await readUntil(socket, idleMs, tellsProbe);
    if (!first) return void socket.destroy();
    if (isProbe(first)) {
      if (first.includes(10)) return answerProbe(socket, first);
      const rest = await readUntil(socket, idleMs, (d) => d.includes(10));
      return rest ? answerProbe(socket, Buffer.concat([first, rest])) : void socket.destroy();
    }
    captured.add(socket);
    socket.unshift(first);
    httpServer.emit('connection', socket);
    socket.resume();
  };

  const onTls = async (socket: Socket, port: number): Promise<void> => {
    socket.on('error', () => undefined);
    const data = await readUntil(socket, idleMs, (d) => (tellsProbe(d) && isProbe(d) ? d.includes(10) : tellsProbe(d) && parseClientHello(d).kind !== 'incomplete'));
    if (!data) return void socket.destroy();
    if (isProbe(data)) return answerProbe(socket, data);
    const hello = parseClientHello(data);
    if (hello.kind !== 'hello') return refuseCapturedTls(ctx, socket, port, `not a TLS ClientHello (${hello.kind === 'not-tls' ? hello.reason : 'incomplete'})`);
    if (!hello.serverName) return refuseCapturedTls(ctx, socket, port, 'the ClientHello names no server (SNI): connect by host name');
    return handleCapturedTls(ctx, socket, { first: data, serverName: hello.serverName, port });
  };

  const fail = (what: string) => (e: unknown) => {
    ctx.logger?.error({ err: e }, `captured ${what} connection failed`);
  };
  const listeners: { port: number; handle: (s: Socket) => void }[] = [
    { port: plan.http.listenPort, handle: (s) => void onHttp(s).catch(fail('HTTP')) },
    ...plan.tls.map((t) => ({ port: t.listenPort, handle: (s: Socket) => void onTls(s, t.port).catch(fail('TLS')) })),
  ];

  const listenOne = (port: number, host: string, handle: (s: Socket) => void): Promise<Server | undefined> =>
    new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: false }, handle);
      server.once('error', (e: NodeJS.ErrnoException) => {
        // A pod without IPv6 has no ::1: its IPv6 traffic has nowhere to go but this listener's absence.
        if (host === '::1' && (e.code === 'EADDRNOTAVAIL' || e.code === 'EAFNOSUPPORT')) return resolve(undefined);
        reject(e);
      });
      server.listen({ port, host, ipv6Only: host === '::1' }, () => resolve(server));
    });

  const probe = (port: number, host: string): Promise<string | undefined> =>
    new Promise((resolve) => {
      const nonce = randomBytes(12).toString('hex');
      pendingProbes.add(nonce);
      const socket = connect({ host, port });
      let answer = '';
      const done = (problem: string | undefined): void => {
        clearTimeout(timer);
        pendingProbes.delete(nonce);
        socket.destroy();
        resolve(problem);
      };
      const timer = setTimeout(() => done(`probe ${host}:${port} got no answer in ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
      socket.on('connect', () => socket.write(PROBE_PREFIX + nonce + '\n'));
      socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
      socket.on('end', () => done(answer.trim() === (PROBE_ANSWER + nonce).trim() ? undefined : `probe ${host}:${port} reached something that is not this sidecar's capture listener`));
      socket.on('error', (e: NodeJS.ErrnoException) =>
        done(e.code === 'ECONNREFUSED' ? `probe ${host}:${port} was refused: no capture rule redirects it (are the capture rules installed in this pod?)` : `probe ${host}:${port}: ${e.message}`),
      );
    });

  return {
    async listen() {
      for (const l of listeners) {
        for (const host of ['127.0.0.1', '::1']) {
          const s = await listenOne(l.port, host, l.handle);
          if (s) servers.push(s);
        }
      }
    },
    async check() {
      const probes = [plan.http.probePort, ...plan.tls.map((t) => t.probePort)];
      const problems = await Promise.all(probes.map((p) => probe(p, '127.0.0.1')));
      return problems.filter((p): p is string => p !== undefined);
    },
    isCaptured: (socket) => !!socket && captured.has(socket),
    async close() {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|\[::ffff:127(\.\d{1,3}){3}\])$/i;

/**
 * Where a request that came through the transparent HTTP listener goes: its
 * Host header (an absolute-form target is routed as the forward proxy routes
 * it). A loopback Host is refused: nothing on loopback is ever captured, so
 * such a request was sent to the listener directly, and forwarding it would
 * send the sidecar back to itself.
 */
export function capturedHttpTarget(url: string, host: string | undefined): ForwardTarget {
  if (!url.startsWith('/')) return resolveTarget(url, undefined) as ForwardTarget;
  const authority = (host ?? '').trim();
  if (!authority) throw new PortcullisError(ErrorCodes.BAD_REQUEST, 'a captured HTTP request has no Host header, so there is no destination to decide on: send Host');
  if (LOOPBACK_HOST.test(authority.replace(/:\d+$/, ''))) {
    throw new PortcullisError(ErrorCodes.BAD_REQUEST, `a captured HTTP request names a loopback Host (${authority.slice(0, 100)}): call loopback addresses directly`);
  }
  return { kind: 'forward', scheme: 'http', authority, target: url };
}
