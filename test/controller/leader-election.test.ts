/**
 * Leader election on a real coordination.k8s.io Lease in a real kube-apiserver,
 * through the controller's own client and credentials (its ServiceAccount
 * token, the chart's Role: create Leases, get and update only its own).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { controllerKubeconfig, installBase, SYSTEM_NAMESPACE } from '../support/controller-harness.ts';
import { until } from '../support/until.ts';
import { KubeRest } from '../support/kube-rest.ts';
import { ClientNodeKubeApi } from '../../src/controller/k8s/client-node-kube-api.ts';
import { LeaderElector } from '../../src/controller/leader-election.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import type { KubeApi } from '../../src/controller/k8s/kube-api.ts';

const LEASE = 'portcullis-controller';
let cp: ControlPlane;
let kube: KubeRest;
let api: ClientNodeKubeApi;
const logger = createLogger({ level: 'silent' });

before(async () => {
  cp = await startControlPlane();
  kube = new KubeRest(cp);
  await installBase(cp);
  api = ClientNodeKubeApi.load(await controllerKubeconfig(cp));
});
const running: LeaderElector[] = [];
after(async () => {
  // Stopped here too, so a failed assertion leaves no elector renewing against a stopped server.
  for (const e of running) await e.stop(false);
  await cp?.close();
});

const lease = (): Promise<any> => kube.get('coordination.k8s.io/v1', 'Lease', SYSTEM_NAMESPACE, LEASE);

interface Candidate {
  elector: LeaderElector;
  /** Lease reads this candidate has made: each is one look at who holds it. */
  reads: () => number;
}

function candidate(identity: string, events: string[]): Candidate {
  let reads = 0;
  // The production client, counting this candidate's reads of the Lease.
  const counted = Object.create(api) as KubeApi;
  counted.readLease = (ns, name) => (reads++, api.readLease(ns, name));
  const elector = new LeaderElector({
    kube: counted,
    namespace: SYSTEM_NAMESPACE,
    name: LEASE,
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
  running.push(elector);
  return { elector, reads: () => reads };
}

test('two candidates start at once with no Lease: the API server lets one create it, the other follows', async () => {
  const events: string[] = [];
  const a = candidate('a', events);
  const b = candidate('b', events);
  a.elector.start();
  b.elector.start();
  try {
    await until(() => a.reads() >= 3 && b.reads() >= 3, 'both candidates to look at the Lease three times');
    const leaders = [a, b].filter((c) => c.elector.isLeader());
    assert.equal(leaders.length, 1, events.join(', '));
    const l = await lease();
    assert.equal(l.spec.holderIdentity, a.elector.isLeader() ? 'a' : 'b');
    assert.equal(l.spec.leaseTransitions, 0);
    assert.equal(l.spec.leaseDurationSeconds, 6);
  } finally {
    await a.elector.stop();
    await b.elector.stop();
  }
  assert.equal((await lease()).spec.holderIdentity, '', 'a clean stop releases the Lease');
  await kube.delete('coordination.k8s.io/v1', 'Lease', SYSTEM_NAMESPACE, LEASE);
});

test('one leader at a time; a crashed leader is replaced once its Lease has gone unrenewed for a lease duration', async () => {
  const events: string[] = [];
  const a = candidate('a', events);
  const b = candidate('b', events);
  a.elector.start();
  await until(() => a.elector.isLeader(), 'a to lead');
  b.elector.start();
  const renewedAt = (await lease()).spec.renewTime;
  // b has looked at the Lease several times while a kept renewing it.
  await until(() => b.reads() >= 3, 'b to look at the Lease three times');
  assert.notEqual((await lease()).spec.renewTime, renewedAt, 'a renewed meanwhile');
  assert.equal(b.elector.isLeader(), false, 'b must not lead while a renews');
  await a.elector.stop(false); // a crash: the Lease is not released
  const crashedAt = Date.now();
  await until(() => b.elector.isLeader(), 'b to take over', 30_000);
  assert.ok(Date.now() - crashedAt >= 4_000, `b took over after ${Date.now() - crashedAt} ms, before the Lease could have expired`);
  const l = await lease();
  assert.equal(l.spec.holderIdentity, 'b');
  assert.equal(l.spec.leaseTransitions, 1);
  assert.ok(Date.parse(l.spec.acquireTime) >= crashedAt - 1000, 'acquireTime is the takeover');
  await b.elector.stop();
  const released = await lease();
  assert.equal(released.spec.holderIdentity, '', 'a clean stop releases the Lease');
  assert.equal(released.spec.leaseDurationSeconds, 1);
  assert.deepEqual(events, ['a leads', 'a stops', 'b leads', 'b stops']);
});
