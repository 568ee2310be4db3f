/**
 * The chart's image settings and the ledger volume size reach injected pods:
 * on a real kube-apiserver, a pod created through the injection webhook gets
 * the configured pull policy on the containers Portcullis adds, the pull
 * secrets beside its own (no duplicate), and the ledger volume's size limit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/controller-harness.ts';

let h: Harness;
let pods = 0;

before(async () => {
  h = await startHarness({ configOverrides: { sidecarImagePullPolicy: 'Always', sidecarImagePullSecrets: 'registry-a,registry-b', sidecarLedgerVolumeSize: '1Gi', sidecarLedgerKeepSegments: '5', sidecarLedgerDurability: 'write' } });
  await h.namespace('agents');
  await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'agents' } });
});

after(() => h?.close());

const create = (spec: Record<string, unknown> = {}) =>
  h.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `agent-${++pods}`, namespace: 'agents', annotations: { 'portcullis.dev/inject': 'true' } },
    spec: { containers: [{ name: 'agent', image: 'ghcr.io/example/agent:1' }], ...spec },
  });

test('pull policy and pull secrets of the injected containers, the ledger volume size, the segments kept and the ledger durability come from the controller settings', async () => {
  const stored = await create();
  const ours = stored.spec.initContainers.filter((c: any) => c.name.startsWith('portcullis-'));
  assert.ok(ours.some((c: any) => c.name === 'portcullis-sidecar'));
  for (const c of ours) assert.equal(c.imagePullPolicy, 'Always', c.name);
  assert.deepEqual(stored.spec.imagePullSecrets, [{ name: 'registry-a' }, { name: 'registry-b' }]);
  assert.equal(stored.spec.volumes.find((v: any) => v.name === 'portcullis-ledger').emptyDir.sizeLimit, '1Gi');
  const sidecar = ours.find((c: any) => c.name === 'portcullis-sidecar');
  assert.equal(sidecar.env.find((e: any) => e.name === 'PORTCULLIS_LEDGER_KEEP_SEGMENTS')?.value, '5');
  assert.equal(sidecar.env.find((e: any) => e.name === 'PORTCULLIS_LEDGER_DURABILITY')?.value, 'write');
});

test('a pod with pull secrets of its own keeps them and gets only the missing ones', async () => {
  const stored = await create({ imagePullSecrets: [{ name: 'own' }, { name: 'registry-b' }] });
  assert.deepEqual(stored.spec.imagePullSecrets, [{ name: 'own' }, { name: 'registry-b' }, { name: 'registry-a' }]);
});
