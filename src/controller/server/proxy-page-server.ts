/**
 * The listener of the authenticating proxy (PORTCULLIS_APPROVAL_PROXY_CA_FILE):
 * HTTPS with the controller's certificate, and mutual TLS — a client must
 * present a certificate signed by the CA the platform gave for its proxy, or
 * the handshake fails. Behind that proof alone the approval page reads who
 * the person is from the proxy's headers (approvals/proxy-sign-in.ts). It
 * serves the page and nothing else: no bundles, no approvals API, and the
 * other ports never read those headers.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { errorBody } from '../../gate/error-response.ts';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { ApprovalService } from '../approvals/approval-service.ts';
import { proxySignIn, type ProxyHeaders } from '../approvals/proxy-sign-in.ts';
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
}

export interface ProxyPageServer {
  port: number;
  /** Serves a renewed certificate from now on. */
  setCertificate(tls: WebhookTls): void;
  close(): Promise<void>;
}

export async function startProxyPage(approvals: ApprovalService, kube: KubeApi, o: ProxyPageOptions): Promise<ProxyPageServer> {
  const https = { cert: o.tls.certPem, key: o.tls.keyPem, ca: o.clientCaPem, requestCert: true, rejectUnauthorized: true };
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024, https }) as unknown as FastifyInstance;
  // The handshake already refused a client without the proxy's certificate; this says so again should TLS options ever change.
  app.addHook('onRequest', async (req, reply) => {
    if ((req.raw.socket as TLSSocket).authorized !== true) {
      return reply.code(403).send(errorBody(new PortcullisError(ErrorCodes.FORBIDDEN, 'this port answers the authenticating proxy only (its client certificate)')));
    }
  });
  approvals.registerPage(app, proxySignIn(kube, o.headers));
  await app.listen({ host: o.host, port: o.port });
  return {
    port: (app.server.address() as AddressInfo).port,
    setCertificate: (tls) => (app.server as unknown as TlsServer).setSecureContext({ cert: tls.certPem, key: tls.keyPem, ca: o.clientCaPem }),
    close: () => app.close(),
  };
}
