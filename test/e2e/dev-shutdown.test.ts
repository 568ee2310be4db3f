/**
 * Stopping `portcullis dev` is bounded although no trace collector listens:
 * the last spans get a short export deadline (PORTCULLIS_TRACE_SHUTDOWN_TIMEOUT_MS)
 * instead of the exporter's retries.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createTracing, tracingConfigFromEnv } from '../../src/telemetry/tracing.ts';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
let child: ChildProcess | undefined;

after(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

/** A loopback port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('tracing shutdown with no collector returns within its deadline', async () => {
  const port = await closedPort();
  const tracing = await createTracing({ config: tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, PORTCULLIS_TRACE_SHUTDOWN_TIMEOUT_MS: '300' }) });
  assert.equal(tracing.config.shutdownTimeoutMs, 300);
  for (let i = 0; i < 3; i++) tracing.tracer.startSpan(`s${i}`).end();
  const started = performance.now();
  await tracing.shutdown();
  const took = performance.now() - started;
  assert.ok(took < 1500, `shutdown took ${Math.round(took)} ms`);
});

test('the shutdown deadline is a setting: 1000 ms by default, a bad value stops start-up', () => {
  assert.equal(tracingConfigFromEnv({}).shutdownTimeoutMs, 1000);
  assert.throws(() => tracingConfigFromEnv({ PORTCULLIS_TRACE_SHUTDOWN_TIMEOUT_MS: 'soon' }), (e: any) => e.code === 'PORTCULLIS_CONFIG');
});

test('portcullis dev with spans to export and no collector stops within about a second of SIGTERM', async () => {
  const port = await closedPort();
  let out = '';
  child = spawn(process.execPath, [join(root, 'bin', 'portcullis.js'), 'dev', '--policies', 'policies', '--port', '0', '--admin-port', '0', '--no-ledger'], {
    cwd: root,
    env: { ...process.env, OTEL_SDK_DISABLED: '', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '60000', PORTCULLIS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = child;
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const proxy = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const m = /export HTTP_PROXY=(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
      else if (proc.exitCode !== null) reject(new Error(`portcullis dev exited:\n${out}`));
      else proc.stdout!.once('data', check);
    };
    proc.once('exit', check);
    check();
  });
  // A few decisions, so that spans wait in the batch for the export at shutdown.
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${proxy}/tools/deploy/v1/anything`, { method: 'DELETE' })).status, 403);
  const started = performance.now();
  proc.kill('SIGTERM');
  const code = await exited;
  const took = performance.now() - started;
  assert.equal(code, 0, out);
  assert.ok(took < 3000, `stopping took ${Math.round(took)} ms`);
});
