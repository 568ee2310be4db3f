/**
 * The Authorization header a sidecar sends the controller: its projected
 * ServiceAccount token, read on every request because the kubelet rotates
 * the file. A file that cannot be read (not written yet) is UPSTREAM: the
 * controller was never asked, and the caller retries as for an unreachable
 * controller.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCodes, PortcullisError } from '../errors.ts';

export async function bearerHeader(tokenFile: string | undefined): Promise<Record<string, string>> {
  if (!tokenFile) return {};
  const text = await readFile(tokenFile, 'utf8').catch((e: unknown) => {
    throw new PortcullisError(ErrorCodes.UPSTREAM, `cannot read the service account token ${tokenFile}: ${(e as Error).message}`);
  });
  return { authorization: `Bearer ${text.trim()}` };
}
