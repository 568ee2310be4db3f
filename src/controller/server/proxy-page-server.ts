/**
 * The listener of the authenticating proxy (PORTCULLIS_APPROVAL_PROXY_CA_FILE):
 * HTTPS with the controller's certificate, and mutual TLS — a client must
 * present a certificate signed by the CA the platform gave for its proxy, or
 * the handshake fails. Behind that proof alone the approval page reads who
 * the person is from the proxy's headers (approvals/proxy-sign-in.ts). It
 * serves the page and nothing else: no bundles, no approvals API, and the
 * other ports never read those headers. Where names are configured
 * (PORTCULLIS_APPROVAL_PROXY_CLIENT_NAMES), the certificate must also carry
 * one of them (peer-names.ts).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { errorBody } from '../../gate/error-response.ts';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { ApprovalService } from '../approvals/approval-service.ts';
import { proxySignIn, type ProxyHeaders, type ProxyScope } from '../approvals/proxy-sign-in.ts';
import { peerCertificateNames } from '../certs/peer-names.ts';
import type { WebhookTls } from '../certs/provider.ts';
import type { KubeApi } from '../k8s/kube-api.ts';

export interface ProxyPageOptions {
  host: string;
  port: number;
  /** PEM CA certificates that sign the proxy's client certificate. */
  clientCaPem: string;
  /** The certificate served (the webhooks'). */
  tls: WebhookTls;
  headers: ProxyHeaders;
  /** Whom the proxy may speak for. */
  scope: ProxyScope;
  /** Names the client certificate must carry one of (subject CN, DNS or URI SAN); empty: any the CA signed. */
  clientNames: readonly string[];
}

/** Why this client may not speak for people here, or undefined when it may. */
function refuseClient(socket: TLSSocket, clientNames: readonly string[]): string | undefined {
  // The handshake already refused a client without the proxy's certificate; this says so again should TLS options ever change.
  if (socket.authorized !== true) return 'this port answers the authenticating proxy only (its client certificate)';
  if (clientNames.length === 0) return undefined;
  const names = peerCertificateNames(socket.getPeerCertificate());
  if (names.some((n) => clientNames.includes(n))) return undefined;
  return `the client certificate names ${names.join(', ') || 'nothing'}; this port answers only ${clientNames.join(', ')} (PORTCULLIS_APPROVAL_PROXY_CLIENT_NAMES)`;
}

export interface ProxyPageServer {
  port: number;
  /** Serves a renewed certificate from now on. */
  setCertificate(tls: WebhookTls): void;
  /** Trusts this CA (and no longer the last) for new connections from now on. */
  setClientCa(pem: string): void;
  close(): Promise<void>;
}

export async function startProxyPage(approvals: ApprovalService, kube: KubeApi, o: ProxyPageOptions): Promise<ProxyPageServer> {
  const https = { cert: o.tls.certPem, key: o.tls.keyPem, ca: o.clientCaPem, requestCert: true, rejectUnauthorized: true };
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024, https }) as unknown as FastifyInstance;
  app.addHook('onRequest', async (req, reply) => {
    const refused = refuseClient(req.raw.socket as TLSSocket, o.clientNames);
    if (refused) return reply.code(403).send(errorBody(new PortcullisError(ErrorCodes.FORBIDDEN, refused)));
  });
  approvals.registerPage(app, proxySignIn(kube, o.headers, o.scope));
  await app.listen({ host: o.host, port: o.port });
  // One secure context holds both what is served and what is trusted: either change replaces it whole.
  let served = o.tls;
  let trusted = o.clientCaPem;
  const apply = (): void => (app.server as unknown as TlsServer).setSecureContext({ cert: served.certPem, key: served.keyPem, ca: trusted });
  return {
    port: (app.server.address() as AddressInfo).port,
    setCertificate: (tls) => {
      served = tls;
      apply();
    },
    setClientCa: (pem) => {
      trusted = pem;
      apply();
    },
    close: () => app.close(),
  };
}
