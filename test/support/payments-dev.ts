/**
 * The shipped payments escalation, live: a loopback payments API that logs
 * what arrives, the repository's policies copied to a fresh directory with the
 * payments tool sent to it, and a real `portcullis dev` serving them with
 * alice in group:payments (PORTCULLIS_APPROVER_GROUPS), the group the policy
 * names as approvers for charges above its threshold.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPaymentsApi, type DemoApi } from '../../src/demo/http-apis.ts';
import { startDev, type DevProcess } from './portcullis-dev.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export interface PaymentsDev {
  /** The working directory: `policies`, and `.portcullis` once dev has written it. */
  readonly dir: string;
  readonly payments: DemoApi;
  /** Started, not yet waited for: the test waits for the lines it needs. */
  readonly dev: DevProcess;
  /** Stops dev and the payments API, removes the directory. */
  close(): Promise<void>;
}

export async function startPaymentsDev(prefix: string): Promise<PaymentsDev> {
  const payments = await startPaymentsApi();
  let dir: string | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), prefix));
    await cp(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
    const manifest = join(dir, 'policies', 'portcullis.yaml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('http://127.0.0.1:7081', payments.url));
  } catch (e) {
    // Nothing is handed back, so nothing would be closed by the caller.
    await payments.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const where = dir;
  const dev = startDev({ cwd: where, env: { PORTCULLIS_APPROVER_GROUPS: JSON.stringify({ payments: 'alice' }) } });
  return {
    dir: where,
    payments,
    dev,
    async close() {
      await dev.stop();
      await payments.close();
      await rm(where, { recursive: true, force: true });
    },
  };
}
