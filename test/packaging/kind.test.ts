/**
 * test/e2e/kind.sh cannot run here (no Docker, no cluster): it is checked by
 * reading. It parses as bash, fails on the first error, every file it applies
 * exists, and the names it waits for are the ones the chart and the examples
 * create.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readYamlDocuments, root } from './support.ts';

const script = readFileSync(join(root, 'test/e2e/kind.sh'), 'utf8');

test('kind.sh parses as bash and stops on the first error', () => {
  const r = spawnSync('bash', ['-n', 'test/e2e/kind.sh'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(script, /^set -euo pipefail$/m);
  assert.match(script, /--cleanup\)/);
});

test('every file kind.sh uses exists', () => {
  const paths = [...script.matchAll(/(?:-f|--config)\s+((?:examples|charts|manifests)\/\S+|kind-config\.yaml)/g), ...script.matchAll(/\s(charts\/portcullis)\s/g)].map((m) => m[1]!);
  assert.ok(paths.length >= 5, `found ${paths.join(', ')}`);
  for (const p of paths) assert.ok(existsSync(join(root, p)), `${p} does not exist`);
});

test('the names kind.sh waits for are the ones the chart and the examples create', () => {
  for (const name of ['portcullis-controller', 'portcullis-jaeger', 'portcullis-sidecar-injector']) assert.match(script, new RegExp(name));
  const bundle = readYamlDocuments('examples/policybundles/shipped.yaml')[0] as any;
  assert.match(script, new RegExp(`policybundle/${bundle.metadata.name}\\b`));
  const deploy = (readYamlDocuments('examples/agent/deployment.yaml') as any[]).find((d) => d.kind === 'Deployment');
  assert.match(script, new RegExp(`deployment/${deploy.metadata.name}\\b`));
  assert.match(script, new RegExp(`AGENTS=${deploy.metadata.namespace}\\b`));
  // The agent's output lines the script greps for are the ones the agent prints.
  const agent = (readYamlDocuments('examples/agent/agent-script.yaml')[0] as any).data['agent.mjs'];
  for (const m of script.matchAll(/portcullis-demo ((?:allow|deny|compute) [^:'"]+):/g)) assert.ok(agent.includes(`'${m[1]}'`), `the agent prints no "${m[1]}"`);
  // The image it builds is the one the chart installs by default.
  const chart = readYamlDocuments('charts/portcullis/values.yaml')[0] as any;
  assert.equal(chart.image.repository, 'ghcr.io/portcullis/portcullis');
  assert.match(script, /IMAGE=ghcr\.io\/portcullis\/portcullis:/);
  // The Jaeger UI port it queries is the one kind-config.yaml maps.
  const kind = readYamlDocuments('kind-config.yaml')[0] as any;
  assert.ok(kind.nodes[0].extraPortMappings.some((m: any) => m.hostPort === 16686 && m.containerPort === chart.jaeger.uiNodePort));
  assert.match(script, /JAEGER=http:\/\/localhost:16686/);
});
