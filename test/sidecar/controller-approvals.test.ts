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
