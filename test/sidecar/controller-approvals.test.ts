/** The sidecar's approval broker when the controller is away, or the caller gives up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ControllerApprovalBroker } from '../../src/sidecar/controller-approvals.ts';
import { ErrorCodes, isPortcullisError } from '../../src/errors.ts';
import type { ApprovalRequest } from '../../src/gate/types.ts';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function request(ms: number): ApprovalRequest {
  return {
    id: randomUUID(),
    inputHash: 'a'.repeat(64),
    summary: 's',
    action: { type: 'http', tool: 't' },
    agent: { namespace: 'agents', pod: 'p', serviceAccount: 'sa', labels: {}, annotations: {} },
    approvers: [],
    expiresAt: new Date(Date.now() + ms).toISOString(),
    traceId: '0'.repeat(32),
    reason: 'r',
  };
}

test('with the controller unreachable the call stays held, then is denied when it expires', async () => {
  const broker = new ControllerApprovalBroker({ controllerUrl: `http://127.0.0.1:${await closedPort()}`, retryMs: 50 });
  try {
    await assert.rejects(broker.request(request(400)), (e) => isPortcullisError(e) && e.code === ErrorCodes.ESCALATION_TIMEOUT);
  } finally {
    await broker.close();
  }
});

test('an aborted call stops waiting with the abort reason', async () => {
  const broker = new ControllerApprovalBroker({ controllerUrl: `http://127.0.0.1:${await closedPort()}`, retryMs: 50 });
  try {
    const ac = new AbortController();
    const pending = broker.request(request(60_000), ac.signal);
    setTimeout(() => ac.abort(new Error('client went away')), 100);
    await assert.rejects(pending, /client went away/);
  } finally {
    await broker.close();
  }
});

test('the projected token is sent as a bearer token, read anew for every request', async () => {
  const { createServer: httpServer } = await import('node:http');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const seen: string[] = [];
  const server = httpServer((req, res) => {
    seen.push(`${req.method} ${req.headers.authorization ?? '-'}`);
    if (req.method === 'POST') {
      // Rotated by the kubelet between the create and the poll.
      writeFileSync(tokenFile, 'second\n');
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ namespace: 'agents', name: 'a1' }));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ phase: 'Rejected', message: 'no', inputHash: 'a'.repeat(64), approval: null }));
    }
  });
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'portcullis-token-')), 'token');
  writeFileSync(tokenFile, 'first\n');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const broker = new ControllerApprovalBroker({ controllerUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, retryMs: 50, tokenFile });
  try {
    await assert.rejects(broker.request(request(60_000)), (e) => isPortcullisError(e));
    assert.deepEqual(seen, ['POST Bearer first', 'GET Bearer second']);
  } finally {
    await broker.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('a 401 from the controller refuses the call at once, naming why', async () => {
  const { createServer: httpServer } = await import('node:http');
  const server = httpServer((req, res) => {
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: ErrorCodes.UNAUTHENTICATED, message: 'no bearer token' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const broker = new ControllerApprovalBroker({ controllerUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, retryMs: 50 });
  try {
    await assert.rejects(broker.request(request(60_000)), (e) => isPortcullisError(e) && e.code === ErrorCodes.ESCALATION_REJECTED && /no bearer token/.test(e.message));
  } finally {
    await broker.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
