/**
 * The approval proxy's client CA, read from its file (the chart mounts the
 * Secret `approvals.proxy.clientCaSecret`) and re-read on the interval of
 * mounted certificates (mounted-files.ts): when the platform rotates that CA
 * the listener trusts the new one without a restart. A file that cannot be
 * read or holds no certificate keeps the CA loaded.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, PortcullisError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { MountedFiles } from './mounted-files.ts';

const SETTING = 'PORTCULLIS_APPROVAL_PROXY_CA_FILE';

/** The PEM text when it holds at least one certificate; throws with what is wrong otherwise. */
async function readCa(path: string): Promise<string> {
  const pem = await readFile(path, 'utf8');
  // X509Certificate reads the first certificate of a bundle: enough to tell a CA file from anything else.
  new X509Certificate(pem);
  return pem;
}

/** Reads the CA once (CONFIG naming the setting when it cannot) and re-reads it every `reloadMs`. */
export async function openClientCaFile(o: { path: string; reloadMs: number; logger: Logger }): Promise<MountedFiles<string>> {
  const file = new MountedFiles({ read: () => readCa(o.path), same: (a, b) => a === b, reloadMs: o.reloadMs, logger: o.logger.child({ file: o.path }), what: 'approval proxy CA' });
  await file.start().catch((e: unknown) => {
    throw new PortcullisError(ErrorCodes.CONFIG, `${SETTING}=${o.path}: ${(e as Error).message}; give the PEM of the CA that signs the authenticating proxy's client certificate`, { setting: SETTING });
  });
  return file;
}
