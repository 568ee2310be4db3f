/**
 * PORTCULLIS_CONTROLLER_CA end to end at unit level: the configuration reads
 * and validates the PEM, and the bundle client and approvals broker built
 * from it (as `portcullis sidecar` builds them) reach an https controller on
 * loopback whose certificate that CA signed; without the CA they do not.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { controllerConnection, loadConfig } from '../../src/config/config.ts';
import { generateServingCertificate } from '../../src/controller/certs/x509.ts';
import { BundleStore } from '../../src/controller/bundles/bundle-store.ts';
import { registerBundleRoutes } from '../../src/controller/server/bundle-routes.ts';
import { buildBundle } from '../../src/controller/bundles/build-bundle.ts';
import { writeBundleArchive } from '../../src/policy/bundle-archive.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { BundleClient } from '../../src/sidecar/bundle-client.ts';
import { ControllerApprovalBroker } from '../../src/sidecar/controller-approvals.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import type { ApprovalRequest } from '../../src/gate/types.ts';
import { until } from '../support/until.ts';

const tls = generateServingCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const lines: Array<{ msg: string }> = [];
const logger = createLogger({
  level: 'info',
  destination: new Writable({
    write(c, _e, cb) {
      lines.push(JSON.parse(String(c)));
      cb();
    },
  }),
});
let app: FastifyInstance;
let url = '';
let digest = '';

before(async () => {
  const store = new BundleStore();
  const built = await buildBundle(policyBundle('b', 'ns', { allowMethod: 'GET' }).spec, new PortcullisCompiler());
  assert.ok(built.ok);
  digest = built.bundle.digest;
  store.publish({ key: 'ns/b', digest, archive: await writeBundleArchive(built.bundle), bundle: built.bundle, publishedAt: 0 });
  app = Fastify({ https: { cert: tls.certPem, key: tls.keyPem }, forceCloseConnections: true });
  registerBundleRoutes(app, store);
  // A stand-in approvals API that approves at once: enough to show the broker's TLS connection works.
  let held: ApprovalRequest | undefined;
  app.post('/v1/approvals', async (req, reply) => {
    held = req.body as ApprovalRequest;
    return reply.code(201).send({ namespace: 'ns', name: 'a1' });
  });
  app.get('/v1/approvals/ns/a1', async () => ({
    phase: 'Approved',
    message: '',
    inputHash: held!.inputHash,
    approval: { id: held!.id, inputHash: held!.inputHash, approver: 'alice', at: new Date().toISOString(), verdict: 'approved' },
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
after(() => app.close());

function approvalRequest(): ApprovalRequest {
  return {
    id: randomUUID(),
    inputHash: 'b'.repeat(64),
    summary: 's',
    action: { type: 'http', tool: 't' },
    agent: { namespace: 'ns', pod: 'p', serviceAccount: 'sa', labels: {}, annotations: {} },
    approvers: [],
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    traceId: '0'.repeat(32),
    reason: 'r',
  };
}

test('PORTCULLIS_CONTROLLER_CA is read as PEM text and validated', () => {
  const c = loadConfig({ PORTCULLIS_CONTROLLER_URL: url, PORTCULLIS_CONTROLLER_CA: tls.caPem });
  assert.equal(c.controllerCa.trim(), tls.caPem.trim());
  assert.deepEqual(controllerConnection(c), { controllerUrl: url, ca: c.controllerCa });
  assert.deepEqual(controllerConnection(loadConfig({ PORTCULLIS_CONTROLLER_URL: url })), { controllerUrl: url });
  const bad: Array<Record<string, string>> = [
    { PORTCULLIS_CONTROLLER_URL: url, PORTCULLIS_CONTROLLER_CA: '/etc/portcullis/ca.crt' },
    { PORTCULLIS_CONTROLLER_URL: url, PORTCULLIS_CONTROLLER_CA: '-----BEGIN CERTIFICATE-----\nnot base64 der\n-----END CERTIFICATE-----' },
    { PORTCULLIS_CONTROLLER_URL: 'http://controller:8080', PORTCULLIS_CONTROLLER_CA: tls.caPem },
  ];
  for (const env of bad) {
    assert.throws(() => loadConfig(env), (e: any) => e.code === ErrorCodes.CONFIG && e.details.setting === 'PORTCULLIS_CONTROLLER_CA', JSON.stringify(env));
  }
});

test('the bundle client built from the configuration trusts the controller CA', async () => {
  const config = loadConfig({ PORTCULLIS_CONTROLLER_URL: url, PORTCULLIS_CONTROLLER_CA: tls.caPem });
  const trusted = new BundleClient({ ...controllerConnection(config), bundle: 'ns/b', engine: new OpaWasmEngine(), logger, waitMs: 1000, initialBackoffMs: 20 });
  const untrusted = new BundleClient({ ...controllerConnection(loadConfig({ PORTCULLIS_CONTROLLER_URL: url })), bundle: 'ns/b', engine: new OpaWasmEngine(), logger, waitMs: 1000, initialBackoffMs: 20 });
  trusted.start();
  untrusted.start();
  try {
    await until(() => trusted.digest() === digest, 'the bundle over TLS');
    // The client without the CA fails its TLS handshake and says so.
    await until(() => lines.some((l) => /controller unreachable/.test(l.msg)), 'the untrusted client to fail');
    assert.match(lines.find((l) => /controller unreachable/.test(l.msg))!.msg, /certificate/i);
    assert.equal(untrusted.digest(), undefined);
  } finally {
    await Promise.all([trusted.stop(), untrusted.stop()]);
  }
});

test('the approvals broker built from the configuration trusts the controller CA', async () => {
  const config = loadConfig({ PORTCULLIS_CONTROLLER_URL: url, PORTCULLIS_CONTROLLER_CA: tls.caPem });
  const broker = new ControllerApprovalBroker({ ...controllerConnection(config), waitMs: 1000, retryMs: 20 });
  const untrusted = new ControllerApprovalBroker({ controllerUrl: url, waitMs: 1000, retryMs: 20 });
  try {
    const req = approvalRequest();
    const approval = await broker.request(req);
    assert.equal(approval.inputHash, req.inputHash);
    // Without the CA the TLS handshake fails, the call stays held, and it is denied when it expires.
    const short = { ...approvalRequest(), expiresAt: new Date(Date.now() + 300).toISOString() };
    await assert.rejects(untrusted.request(short), (e: any) => e.code === ErrorCodes.ESCALATION_TIMEOUT);
  } finally {
    await Promise.all([broker.close(), untrusted.close()]);
  }
});
