/**
 * The examples do what they say: the PolicyBundles are policies/ (generated,
 * in sync), compile and pass their own tests through the controller's build
 * step; the sample agent is injected by the controller's injector with the
 * bundle it names; the NetworkPolicy selects the agent's pods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildBundle } from '../../src/controller/bundles/build-bundle.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { injectSidecar } from '../../src/controller/webhooks/inject.ts';
import { readYamlDocuments, root } from './support.ts';

const docs = (f: string): any[] => readYamlDocuments(f) as any[];

test('examples/policybundles are policies/ as generated now (scripts/sync-manifests-examples.ts --check)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('scripts', 'sync-manifests-examples.ts'), '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('the shipped PolicyBundle compiles and passes its own tests as the controller builds it', async () => {
  for (const f of ['examples/policybundles/shipped.yaml']) {
    const [bundle] = docs(f);
    const outcome = await buildBundle(bundle.spec, new PortcullisCompiler());
    assert.ok(outcome.ok, `${f}: ${outcome.ok ? '' : outcome.message}`);
    assert.ok(outcome.tests.results.length >= 10, `${f}: ${outcome.tests.results.length} tests ran`);
    assert.equal(outcome.tests.failed, 0);
  }
});

test('the sample agent is injected, with the bundle and mode it names, and that bundle exists in examples/', () => {
  const deploy = docs('examples/agent/deployment.yaml').find((d) => d.kind === 'Deployment');
  const pod = { apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: deploy.spec.template.metadata, spec: deploy.spec.template.spec };
  const result = injectSidecar(
    { pod, namespace: deploy.metadata.namespace, namespaceLabels: {} },
    { image: 'ghcr.io/portcullis/portcullis:0.1.0', controllerUrl: 'http://portcullis-controller.portcullis-system.svc:8080', imagePullPolicy: 'IfNotPresent', proxyPort: 7070, adminPort: 7071, defaultPolicy: 'default', logLevel: 'info', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } } },
  );
  assert.ok(result.inject, result.inject ? '' : result.reason);
  assert.equal(result.policy, `agents/shipped`);
  assert.equal(result.mode, 'enforce');
  const bundles = ['shipped.yaml'].map((f) => docs(`examples/policybundles/${f}`)[0].metadata.name);
  assert.ok(bundles.includes(result.policy.split('/')[1]));
  // The script the agent runs is the ConfigMap the Deployment mounts.
  const cm = docs('examples/agent/agent-script.yaml')[0];
  const volume = deploy.spec.template.spec.volumes.find((v: any) => v.configMap);
  assert.equal(volume.configMap.name, cm.metadata.name);
  assert.match(deploy.spec.template.spec.containers[0].command.join(' '), new RegExp(`/scripts/${Object.keys(cm.data)[0]}`));
  // The demo tools listen where the bundle's catalog points.
  const tools = docs('examples/policybundles/shipped.yaml')[0].spec.tools.map((t: any) => t.url);
  assert.deepEqual(tools, ['http://127.0.0.1:7080/mcp', 'http://127.0.0.1:7081', 'http://127.0.0.1:7082']);
});

test('the agent script parses as a module and uses the sidecar URL the injector sets', async () => {
  const cm = docs('examples/agent/agent-script.yaml')[0];
  const script: string = cm.data['agent.mjs'];
  assert.match(script, /PORTCULLIS_SIDECAR_URL/);
  const r = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('the NetworkPolicy selects the sample agent and allows the controller', () => {
  const [np] = docs('examples/networkpolicy/agent-egress.yaml');
  const deploy = docs('examples/agent/deployment.yaml').find((d) => d.kind === 'Deployment');
  assert.equal(np.metadata.namespace, deploy.metadata.namespace);
  for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) assert.equal(deploy.spec.template.metadata.labels[k], v);
  assert.deepEqual(np.spec.policyTypes, ['Egress']);
  assert.ok(np.spec.egress.some((e: any) => e.ports.some((p: any) => p.port === 8080)));
});
