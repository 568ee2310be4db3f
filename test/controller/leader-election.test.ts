import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKube } from '../support/fake-kube/server.ts';
import { ClientNodeKubeApi } from '../../src/controller/k8s/client-node-kube-api.ts';
import { LeaderElector } from '../../src/controller/leader-election.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

const fake = new FakeKube();
after(() => fake.close());

async function until(f: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('one leader at a time; a crashed leader is replaced once its lease has gone unrenewed for a lease duration', async () => {
  await fake.start();
  const kube = ClientNodeKubeApi.load(fake.writeKubeconfig());
  const logger = createLogger({ level: 'silent' });
  const events: string[] = [];
  const make = (identity: string): LeaderElector =>
    new LeaderElector({
      kube,
      namespace: 'sys',
      name: 'ctl',
      identity,
      // Generous against a loaded CI machine: a renewal delayed by a busy
      // event loop must not look like a crash.
      leaseDurationSeconds: 6,
      renewDeadlineSeconds: 4,
      retryPeriodSeconds: 1,
      logger,
      onStartedLeading: () => events.push(`${identity} leads`),
      onStoppedLeading: () => events.push(`${identity} stops`),
    });
  const a = make('a');
  const b = make('b');
  a.start();
  await until(() => a.isLeader(), 'a to lead');
  b.start();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(b.isLeader(), false, 'b must not lead while a renews');
  await a.stop(false); // a crash: the lease is not released
  await until(() => b.isLeader(), 'b to take over', 30_000);
  const lease = fake.get('coordination.k8s.io/v1', 'Lease', 'sys', 'ctl')!;
  assert.equal(lease.spec.holderIdentity, 'b');
  assert.equal(lease.spec.leaseTransitions, 1);
  await b.stop();
  assert.equal(fake.get('coordination.k8s.io/v1', 'Lease', 'sys', 'ctl')!.spec.holderIdentity, '', 'a clean stop releases the lease');
  assert.deepEqual(events, ['a leads', 'a stops', 'b leads', 'b stops']);
});
