/** `portcullis controller` as a process: starts against a kubeconfig, serves, stops cleanly on SIGTERM. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FakeKube } from '../support/fake-kube/server.ts';

const fake = new FakeKube();
after(() => fake.close());

test('starts, serves /readyz and bundles, and exits 0 on SIGTERM', async () => {
  await fake.start();
  const kubeconfig = fake.writeKubeconfig('portcullis-system');
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'portcullis.js');
  const child = spawn(process.execPath, [bin, 'controller', '--kubeconfig', kubeconfig, '--port', '0', '--webhook-port', '0'], {
    env: { ...process.env, PORTCULLIS_CONTROLLER_HOST: '127.0.0.1', PORTCULLIS_WEBHOOK_HOST: '127.0.0.1', PORTCULLIS_POD_NAME: 'cli-test', PORTCULLIS_COMPILER: 'portcullis' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 1200 && !/controller started/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  const line = out.split('\n').find((l) => l.includes('controller started'));
  assert.ok(line, out);
  const port = JSON.parse(line).api as number;
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${port}/v1/bundles/agents/none`)).status, 404);
  // The missing webhook configurations are named, not fatal.
  assert.match(out, /webhook configurations not found/);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
});
