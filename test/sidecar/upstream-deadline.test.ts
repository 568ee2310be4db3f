/**
 * The upstream deadline is kept at the resolution the policy asked for:
 * undici's own timers tick about twice a second, so a `timeoutMs: 100`
 * constraint used to fire after half a second to two seconds.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Upstream } from '../../src/sidecar/upstream.ts';
import { ErrorCodes } from '../../src/errors.ts';

test('a 50 ms deadline fires when 50 ms have passed (on a mocked clock), with UPSTREAM_TIMEOUT, and the held request is cut', { timeout: 10_000 }, async () => {
  const held: IncomingMessage[] = [];
  const silent = createServer((req) => {
    held.push(req);
    silent.emit('held');
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const upstream = new Upstream({ connections: 2 });
  try {
    const origin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    // The clock is mocked once the request is on its way: only timers set from here on are ours to move.
    const arrived = once(silent, 'held');
    mock.timers.enable({ apis: ['setTimeout'] });
    let settled: string | undefined;
    const call = upstream.request({ origin, path: '/slow', method: 'GET', headers: {}, timeoutMs: 50 }).then(
      () => (settled = 'answered'),
      (e) => (settled = e.code as string),
    );
    await arrived;
    mock.timers.tick(49);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, undefined, 'nothing happens before the deadline');
    // undici's own timer would need a 499 ms tick to pass; ours fires at 50.
    mock.timers.tick(1);
    await call;
    assert.equal(settled, ErrorCodes.UPSTREAM_TIMEOUT);
    const req = held[0]!;
    if (!req.socket.destroyed) await once(req.socket, 'close');
  } finally {
    mock.timers.reset();
    await upstream.close();
    silent.closeAllConnections();
    silent.close();
  }
});
