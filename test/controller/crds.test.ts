/**
 * The CRDs in manifests/crds/ as the API server applies them (through the
 * stand-in's structural-schema check): good objects are stored with their
 * defaults, bad ones are refused with field paths, and everything the
 * controller writes into status survives pruning.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKube } from '../support/fake-kube/server.ts';
import { manifest } from '../support/controller-harness.ts';
import { policyBundle } from '../support/policy-bundles.ts';
import { POLICY_BUNDLES, ACTION_APPROVALS, GROUP, VERSION } from '../../src/controller/resources.ts';

const fake = new FakeKube();
const crds = [...manifest('manifests/crds/policybundles.portcullis.dev.yaml'), ...manifest('manifests/crds/actionapprovals.portcullis.dev.yaml')];

before(async () => {
  await fake.start();
  for (const c of crds) fake.installCrd(c);
});
after(() => fake.close());

test('the CRDs name the group, version and kinds the controller uses, with a status subresource and printer columns', () => {
  for (const ref of [POLICY_BUNDLES, ACTION_APPROVALS]) {
    const crd = crds.find((c) => c.spec.names.plural === ref.plural)!;
    assert.equal(crd.metadata.name, `${ref.plural}.${GROUP}`);
    assert.equal(crd.spec.names.kind, ref.kind);
    const v = crd.spec.versions.find((x: any) => x.name === VERSION);
    assert.ok(v.served && v.storage);
    assert.deepEqual(v.subresources, { status: {} });
    assert.ok(v.additionalPrinterColumns.some((c: any) => c.name === 'Age'));
    assert.equal(v.schema.openAPIV3Schema.type, 'object');
  }
});

test('a PolicyBundle gets its defaults', async () => {
  const pb = policyBundle('defaults', 'agents');
  delete pb.spec.entrypoint;
  delete pb.spec.mode;
  const stored = await fake.apply(pb);
  assert.equal(stored.spec.entrypoint, 'portcullis/decision');
  assert.equal(stored.spec.mode, 'enforce');
});

test('bad PolicyBundles are refused with the field that is wrong', async () => {
  const bad = policyBundle('bad', 'agents');
  (bad.spec as any).mode = 'audit';
  await assert.rejects(fake.apply(bad), (e: any) => e.code === 422 && /spec\.mode: Unsupported value: "audit"/.test(e.message));
  const noSource = policyBundle('bad2', 'agents');
  noSource.spec.modules = [{ path: 'x.rego' } as any];
  await assert.rejects(fake.apply(noSource), (e: any) => /spec\.modules\[0\]\.source: Required value/.test(e.message));
  const badTool = policyBundle('bad3', 'agents');
  badTool.spec.tools = [{ name: 'fs', kind: 'mcp', url: 'ftp://x' }];
  await assert.rejects(fake.apply(badTool), (e: any) => /spec\.tools\[0\]\.url/.test(e.message));
});

test('an ActionApproval needs its input hash in the right form', async () => {
  const a = {
    apiVersion: 'portcullis.dev/v1alpha1',
    kind: 'ActionApproval',
    metadata: { name: 'a1', namespace: 'agents' },
    spec: { inputHash: 'nothex', summary: 's', action: {}, agent: { namespace: 'agents', pod: 'p' }, approvers: [], expiresAt: '2030-01-01T00:00:00Z' },
  };
  await assert.rejects(fake.apply(a as any), (e: any) => /spec\.inputHash/.test(e.message));
  a.spec.inputHash = 'a'.repeat(64);
  assert.ok(await fake.apply(a as any));
});
