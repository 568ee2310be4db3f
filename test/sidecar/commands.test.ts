import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.ts';

function io(env: Record<string, string> = {}): { io: Parameters<typeof main>[1]; out: () => string } {
  let text = '';
  const w = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  return { io: { stdout: w, stderr: w, env, cwd: process.cwd() }, out: () => text };
}

test('sidecar without its controller settings stops at start-up naming the setting', async () => {
  const a = io();
  assert.equal(await main(['sidecar'], a.io), 1);
  assert.match(a.out(), /PORTCULLIS_CONFIG: PORTCULLIS_CONTROLLER_URL is not set/);
  const b = io({ PORTCULLIS_CONTROLLER_URL: 'http://127.0.0.1:1', PORTCULLIS_BUNDLE: 'ns/b', PORTCULLIS_MODE: 'loud' });
  assert.equal(await main(['sidecar'], b.io), 1);
  assert.match(b.out(), /PORTCULLIS_MODE="loud" is invalid/);
});

test('sidecar without the controller\'s public key stops at start-up unless unsigned bundles are accepted explicitly', async () => {
  const a = io({ PORTCULLIS_CONTROLLER_URL: 'http://127.0.0.1:1', PORTCULLIS_BUNDLE: 'ns/b' });
  assert.equal(await main(['sidecar'], a.io), 1);
  assert.match(a.out(), /PORTCULLIS_CONFIG: PORTCULLIS_BUNDLE_PUBLIC_KEY is not set/);
  const b = io({ PORTCULLIS_CONTROLLER_URL: 'http://127.0.0.1:1', PORTCULLIS_BUNDLE: 'ns/b', PORTCULLIS_BUNDLE_PUBLIC_KEY: '/etc/portcullis/bundle.pub' });
  assert.equal(await main(['sidecar'], b.io), 1);
  assert.match(b.out(), /PORTCULLIS_BUNDLE_PUBLIC_KEY holds no -----BEGIN PUBLIC KEY-----/);
});

test('dev needs a policy folder; approve cannot reach a gate that is not there', async () => {
  const a = io();
  assert.equal(await main(['dev'], a.io), 2);
  assert.match(a.out(), /--policies DIR/);
  const b = io();
  assert.equal(await main(['approve', 'x', '--admin', 'http://127.0.0.1:1'], b.io), 1);
  assert.match(b.out(), /cannot reach the gate's admin endpoint/);
});
