/**
 * The sample agent of examples/agent/, run here against a real local gate
 * (`portcullis dev` on the shipped policies) and the demo tools, prints the
 * lines test/e2e/kind.sh greps for in the cluster: kind.sh's checks are
 * applied to what the agent really prints. Ports are free ones; the policies'
 * catalog is rewritten to them, as the pod's loopback would be in the cluster.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readYamlDocuments, root } from './support.ts';
import { capture, freePort, waitFor } from './processes.ts';

const children: ChildProcess[] = [];
let scratch: string | undefined;

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function start(args: string[], env: Record<string, string>, out: { text: string }): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: scratch, env: { ...process.env, OTEL_SDK_DISABLED: 'true', PORTCULLIS_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return capture(child, out);
}

test('the sample agent, through a real gate on the shipped policies, prints what kind.sh checks', async () => {
  const [fs, payments, deploy, proxy, admin] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  scratch = await mkdtemp(join(tmpdir(), 'portcullis-agent-'));
  await cp(join(root, 'policies'), join(scratch, 'policies'), { recursive: true });
  const manifest = join(scratch, 'policies', 'portcullis.yaml');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(':7080/', `:${fs}/`).replace(':7081', `:${payments}`).replace(':7082', `:${deploy}`));
  const cli = join(root, 'bin', 'portcullis.js');

  const tools = { text: '' };
  const toolsProc = start([cli, 'demo-tools', '--fs-port', String(fs), '--payments-port', String(payments), '--deploy-port', String(deploy)], {}, tools);
  await waitFor(tools, /deploy\s+http/, toolsProc, 'demo-tools');
  const gate = { text: '' };
  const gateProc = start([cli, 'dev', '--policies', 'policies', '--port', String(proxy), '--admin-port', String(admin), '--no-ledger'], {}, gate);
  await waitFor(gate, /export HTTP_PROXY=/, gateProc, 'portcullis dev');

  const script = (readYamlDocuments('examples/agent/agent-script.yaml')[0] as any).data['agent.mjs'];
  await writeFile(join(scratch, 'agent.mjs'), script);
  const agent = { text: '' };
  const agentProc = start(['agent.mjs'], { PORTCULLIS_SIDECAR_URL: `http://127.0.0.1:${proxy}` }, agent);
  // One round of calls ends with the compute line; then the agent sleeps.
  await waitFor(agent, /portcullis-demo compute .*\n/, agentProc, 'the agent');
  agentProc.kill('SIGTERM');

  const kindSh = await readFile(join(root, 'test/e2e/kind.sh'), 'utf8');
  const checks = [...kindSh.matchAll(/logs \| grep -q '([^']+)'/g)].map((m) => m[1]!);
  assert.ok(checks.length >= 4, `kind.sh has ${checks.length} log checks`);
  for (const pattern of checks) {
    // kind.sh uses grep's basic regular expressions; these patterns mean the same in JavaScript.
    assert.match(agent.text, new RegExp(pattern), `kind.sh expects a line matching ${pattern}; the agent printed:\n${agent.text}`);
  }
  // kind.sh reads the denied call's trace ID from this line.
  assert.match(agent.text, /portcullis-demo deny http DELETE.*"traceId":"[0-9a-f]{32}"/);
});
