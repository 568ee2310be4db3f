/**
 * The upstream deadline is kept at the resolution the policy asked for:
 * undici's own timers tick about twice a second, so a `timeoutMs: 100`
 * constraint used to fire after half a second to two seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Upstream } from '../../src/sidecar/upstream.ts';
import { ErrorCodes } from '../../src/errors.ts';

test('a 50 ms deadline fires before a 450 ms timer does, with UPSTREAM_TIMEOUT, and the held request is cut', async () => {
  const held: Array<[IncomingMessage, ServerResponse]> = [];
  const silent = createServer((req, res) => held.push([req, res]));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const upstream = new Upstream({ connections: 2 });
  try {
    const origin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const call = upstream.request({ origin, path: '/slow', method: 'GET', headers: {}, timeoutMs: 50 }).then(
      () => 'answered',
      (e) => e.code as string,
    );
    // The comparison is an order of events, not a measurement: undici's timers
    // fire no sooner than one 499 ms tick after they are armed, whatever the
    // delay asked for, which is what this guards against.
    let later: NodeJS.Timeout | undefined;
    const tick = new Promise<string>((r) => (later = setTimeout(() => r('450 ms passed first'), 450)));
    assert.equal(await Promise.race([call, tick]), ErrorCodes.UPSTREAM_TIMEOUT);
    clearTimeout(later);
    // The upstream sees its request end: nothing is left waiting on it.
    const [req] = held[0]!;
    if (!req.socket.destroyed) await once(req.socket, 'close');
  } finally {
    await upstream.close();
    silent.closeAllConnections();
    silent.close();
  }
});
