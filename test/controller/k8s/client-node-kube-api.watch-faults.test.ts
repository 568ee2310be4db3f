/**
 * The informer of ClientNodeKubeApi through watch faults that a real
 * kube-apiserver cannot be made to produce at a chosen moment: a watch stream
 * cut mid-response, and 410 Gone after the history was compacted. These run
 * on the stand-in API server (test/support/fake-kube/); every other behaviour
 * of the seam is tested against the real one in client-node-kube-api.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKube, type KubeObject } from '../../support/fake-kube/server.ts';
import { ClientNodeKubeApi } from '../../../src/controller/k8s/client-node-kube-api.ts';
import { POLICY_BUNDLES, API_VERSION, type PolicyBundle } from '../../../src/controller/resources.ts';
import type { Informer } from '../../../src/controller/k8s/kube-api.ts';
import { until } from '../../support/until.ts';

const PLURAL = POLICY_BUNDLES.plural;
let fake: FakeKube;
let informer: Informer<PolicyBundle>;
const removed: string[] = [];

function bundle(name: string): KubeObject {
  return { apiVersion: API_VERSION, kind: 'PolicyBundle', metadata: { name, namespace: 'team-a' }, spec: { modules: [{ path: 'p.rego', source: 'package p' }] } };
}

const isList = (r: string): boolean => r.startsWith(`GET /apis/portcullis.dev/v1alpha1/${PLURAL}`) && !r.includes('watch=');
const lists = (): number => fake.requests.filter(isList).length;
const watchRequests = (): string[] => fake.requests.filter((r) => r.includes('watch=true'));

before(async () => {
  fake = new FakeKube({ bookmarkIntervalMs: 50 });
  await fake.start();
  fake.put(PLURAL, bundle('before-start'));
  const api = ClientNodeKubeApi.load(fake.writeKubeconfig(), { restartDelayMs: 20 });
  informer = await api.informer<PolicyBundle>(POLICY_BUNDLES, { upsert: () => {}, remove: (o) => removed.push(o.metadata.name!) });
  await until(() => fake.openWatchCount() === 1, 'the watch');
});

after(async () => {
  await informer.stop();
  await fake.close();
});

test('a cut watch resumes from the last resourceVersion it saw, without re-listing, and misses nothing', async () => {
  const listsBefore = lists();
  const watchesBefore = watchRequests().length;
  const seen = fake.put(PLURAL, bundle('seen-before-cut'));
  await until(() => !!informer.get('team-a', 'seen-before-cut'), 'the object before the cut');
  fake.cutWatches();
  // Written while no watch is open: only a resume from the right resourceVersion delivers it.
  fake.put(PLURAL, bundle('written-during-cut'));
  await until(() => !!informer.get('team-a', 'written-during-cut'), 'the object written during the cut');
  assert.equal(lists(), listsBefore, 'no re-list');
  const resumed = watchRequests().slice(watchesBefore);
  assert.ok(resumed.length >= 1, 'a new watch');
  const from = Number(new URL(resumed[0]!.split(' ')[1]!, 'http://x').searchParams.get('resourceVersion'));
  assert.ok(from >= Number(seen.metadata.resourceVersion), `resumed from ${from}, not before what it had seen (${seen.metadata.resourceVersion})`);
  assert.ok(resumed.every((r) => r.includes('allowWatchBookmarks=true')), 'every watch asks for bookmarks');
});

test('410 Gone: the informer re-lists, notices a deletion it never saw an event for, and keeps following', async () => {
  fake.put(PLURAL, bundle('deleted-unseen'));
  await until(() => !!informer.get('team-a', 'deleted-unseen'), 'the object');
  await until(() => fake.openWatchCount() === 1, 'an open watch');
  const listsBefore = lists();
  fake.remove(PLURAL, 'team-a', 'deleted-unseen', { unseen: true });
  fake.expireWatches();
  await until(() => lists() > listsBefore, 'a re-list');
  await until(() => removed.includes('deleted-unseen'), 'the deletion noticed by the re-list');
  assert.equal(informer.get('team-a', 'deleted-unseen'), undefined);
  fake.put(PLURAL, bundle('after-relist'));
  await until(() => !!informer.get('team-a', 'after-relist'), 'an object written after the re-list');
});

test('a resume from a compacted resourceVersion is answered 410 and ends in a re-list too', async () => {
  await until(() => fake.openWatchCount() === 1, 'an open watch');
  const listsBefore = lists();
  fake.put(PLURAL, bundle('before-compaction'));
  await until(() => !!informer.get('team-a', 'before-compaction'), 'the object');
  fake.compact();
  fake.cutWatches();
  // The resumed watch names a resourceVersion the history no longer has.
  await until(() => lists() > listsBefore, 'a re-list after 410');
  fake.put(PLURAL, bundle('after-compaction'));
  await until(() => !!informer.get('team-a', 'after-compaction'), 'an object written after it');
  assert.ok(informer.get('team-a', 'before-compaction'), 'the cache still holds what exists');
});
