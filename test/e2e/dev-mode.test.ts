/**
 * `portcullis dev` as a person runs it (`npm start` does the same on
 * policies/): a real process that compiles the shipped policies, says where
 * to send requests, serves the proxy and the admin port, and stops cleanly.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createServer, connect } from 'node:net';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
let child: ChildProcess | undefined;
let dir: string | undefined;

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startDev(policies: string, out: { text: string }, port = 0): ChildProcess {
  const proc = spawn(process.execPath, [join(root, 'bin', 'portcullis.js'), 'dev', '--policies', policies, '--port', String(port), '--admin-port', '0', '--no-ledger'], {
    cwd: root,
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', PORTCULLIS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (c: Buffer) => (out.text += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out.text += c.toString()));
  return proc;
}

function waitFor(output: () => string, pattern: RegExp, proc: ChildProcess): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const m = pattern.exec(output());
      if (m) {
        clearInterval(timer);
        resolve(m);
      } else if (proc.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`portcullis dev exited (${proc.exitCode}):\n${output()}`));
      }
    };
    const timer = setInterval(check, 50);
  });
}

test('portcullis dev compiles the shipped policies, prints where to send requests, gates them, and stops on SIGTERM', async () => {
  const o = { text: '' };
  child = startDev('policies', o);
  const proxy = (await waitFor(() => o.text, /export HTTP_PROXY=(http:\/\/127\.0\.0\.1:\d+)/, child))[1]!;
  const admin = (await waitFor(() => o.text, /admin\s+(http:\/\/127\.0\.0\.1:\d+)\/readyz/, child))[1]!;
  const out = o.text;
  assert.match(out, /loaded policies sha256:[0-9a-f]{64}/);
  assert.match(out, /\/mcp\/fs\s+→ http:\/\/127\.0\.0\.1:7080\/mcp/);

  const ready = await fetch(`${admin}/readyz`);
  assert.equal(ready.status, 200);
  // The demo tools are not running: an allowed call reaches for them and fails upstream,
  // a denied one is refused by the policy before any upstream is tried.
  const denied = await fetch(`${proxy}/tools/deploy/v1/anything`, { method: 'DELETE' });
  assert.equal(denied.status, 403);
  assert.equal(((await denied.json()) as any).error.code, 'PORTCULLIS_DENIED');
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, /portcullis_decisions_total\{[^}]*effect="deny"/);

  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child!.once('exit', r));
  assert.equal(code, 0);
});

test('hot reload: a broken change keeps the last good bundle and says why; a good change is served', async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-dev-'));
  await cp(join(root, 'policies'), dir, { recursive: true });
  const o = { text: '' };
  const proc = (child = startDev(dir, o));
  const proxy = (await waitFor(() => o.text, /export HTTP_PROXY=(http:\/\/127\.0\.0\.1:\d+)/, proc))[1]!;
  const first = (await waitFor(() => o.text, /loaded \S+ (sha256:[0-9a-f]{64})/, proc))[1]!;
  const deleteCall = (): Promise<Response> => fetch(`${proxy}/tools/deploy/v1/anything`, { method: 'DELETE' });
  assert.equal((await deleteCall()).status, 403);

  await writeFile(join(dir, 'broken.rego'), 'package portcullis\n\nthis is not rego\n');
  await waitFor(() => o.text, new RegExp(`PORTCULLIS_REGO_\\w+: [^\\n]*\\n\\s+still serving ${first}`), proc);
  assert.equal((await deleteCall()).status, 403);

  await rm(join(dir, 'broken.rego'));
  await writeFile(join(dir, 'extra.rego'), 'package portcullis\n\nimport rego.v1\n\nallows contains {"effect": "allow", "reason": "deletes allowed here"} if http_call("deploy", "DELETE")\n');
  const second = await waitFor(() => o.text.slice(o.text.indexOf('still serving')), /loaded \S+ (sha256:[0-9a-f]{64})/, proc);
  assert.notEqual(second[1], first);
  // Allowed now: the call goes upstream (no demo tools run here, so 502 from the upstream side).
  const r = await deleteCall();
  assert.equal(((await r.json()) as any).error.code, 'PORTCULLIS_UPSTREAM');
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
});

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves once something accepts connections on the port (each refused attempt is retried at once). */
async function untilListening(port: number, proc: ChildProcess): Promise<void> {
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`portcullis dev exited (${proc.exitCode})`);
    const accepted = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (accepted) return;
    await new Promise((r) => setImmediate(r));
  }
}

test('the proxy port opens only once the policies are loaded: the first call a script sends is decided, not refused for want of a bundle', async () => {
  const port = await freePort();
  const o = { text: '' };
  const proc = (child = startDev('policies', o, port));
  await untilListening(port, proc);
  const first = await fetch(`http://127.0.0.1:${port}/tools/deploy/v1/anything`, { method: 'DELETE' });
  assert.equal(first.status, 403, o.text);
  assert.equal(((await first.json()) as any).error.code, 'PORTCULLIS_DENIED');
  proc.kill('SIGTERM');
  assert.equal(await new Promise<number | null>((r) => proc.once('exit', r)), 0);
});
