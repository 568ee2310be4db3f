/**
 * The Authorization header a sidecar sends the controller: its projected
 * ServiceAccount token, read on every request because the kubelet rotates
 * the file. A file that cannot be read is the caller's error to name (the
 * bundle client refuses; the approvals broker retries).
 */
import { readFile } from 'node:fs/promises';
import { PortcullisError, type ErrorCode } from '../errors.ts';

export async function bearerHeader(tokenFile: string | undefined, code: ErrorCode): Promise<Record<string, string>> {
  if (!tokenFile) return {};
  const text = await readFile(tokenFile, 'utf8').catch((e: unknown) => {
    throw new PortcullisError(code, `cannot read the service account token ${tokenFile}: ${(e as Error).message}`);
  });
  return { authorization: `Bearer ${text.trim()}` };
}
