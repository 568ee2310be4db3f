/**
 * A ledger that cannot be written, behind the real sidecar: in enforce mode
 * the call is refused with PORTCULLIS_LEDGER_WRITE and never reaches the
 * upstream; in observe mode it goes through and the loss is counted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { buildSidecar } from '../../src/sidecar/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { LedgerRecorder } from '../../src/evidence/ledger-recorder.ts';
import { verifyLedger } from '../../src/evidence/verify.ts';
import { createMetrics, type PortcullisMetrics } from '../../src/telemetry/metrics.ts';
import { startPaymentsApi, type DemoApi } from '../../src/demo/http-apis.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { fullDiskFs } from '../evidence/support/full-disk.ts';
import { shippedBundle, withTools } from './shipped-bundle.ts';

let dir: string;
let payments: DemoApi;
const disk = { full: false, allow: 0 };
const apps: FastifyInstance[] = [];
const recorders: LedgerRecorder[] = [];
const sidecars: Record<'enforce' | 'observe', { url: string; metrics: PortcullisMetrics; ledger: string }> = {} as never;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-e2e-faults-'));
  payments = await startPaymentsApi();
  const engine = new OpaWasmEngine();
  await engine.load(withTools(await shippedBundle(), { payments: payments.url }));
  for (const mode of ['enforce', 'observe'] as const) {
    const metrics = createMetrics({ processMetrics: false });
    const ledger = join(dir, mode, 'ledger.jsonl');
    const recorder = new LedgerRecorder({ path: ledger, fs: fullDiskFs(disk), metrics });
    recorders.push(recorder);
    const config = loadConfig({ PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS: '200', PORTCULLIS_MODE: mode }, { port: '0' });
    const app = buildSidecar(config, { engine, recorder, metrics });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    sidecars[mode] = { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, metrics, ledger };
  }
});

after(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await Promise.all(recorders.map((r) => r.close()));
  await payments?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('with a full disk, enforce mode refuses the call it cannot record; observe mode forwards it and counts the loss', async () => {
  // Recorded while the disk has room.
  assert.equal((await fetch(`${sidecars.enforce.url}/tools/payments/v1/charges`)).status, 200);
  const arrivedBefore = payments.log.length;
  disk.full = true;

  const refused = await fetch(`${sidecars.enforce.url}/tools/payments/v1/charges`);
  assert.equal(refused.status, 503);
  const body = (await refused.json()) as { error: { code: string; traceId?: string } };
  assert.equal(body.error.code, ErrorCodes.LEDGER_WRITE);
  assert.equal(payments.log.length, arrivedBefore, 'the upstream never saw the unrecorded call');
  assert.match(await sidecars.enforce.metrics.registry.metrics(), /portcullis_ledger_errors_total\{kind="intent"\} [1-9]/);
  // Room comes back before the refused call's outcome is written: it must
  // not be written alone, an orphan of an intent that never was.
  disk.full = false;
  await recorders[0]!.idle();
  const afterRefusal = await verifyLedger([sidecars.enforce.ledger]);
  assert.equal(afterRefusal.ok, true, JSON.stringify(afterRefusal.findings));
  disk.full = true;

  const forwarded = await fetch(`${sidecars.observe.url}/tools/payments/v1/charges`);
  assert.equal(forwarded.status, 200);
  await forwarded.arrayBuffer();
  assert.equal(payments.log.length, arrivedBefore + 1, 'observe mode forwarded it');
  assert.match(await sidecars.observe.metrics.registry.metrics(), /portcullis_ledger_lost_total\{kind="intent"\} 1/);

  // Space comes back: calls are recorded again and the chain has no hole.
  disk.full = false;
  assert.equal((await fetch(`${sidecars.enforce.url}/tools/payments/v1/charges`)).status, 200);
  await recorders[0]!.close();
  const report = await verifyLedger([sidecars.enforce.ledger]);
  assert.equal(report.ok, true, JSON.stringify(report.findings));
});
