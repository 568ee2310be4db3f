/**
 * The local admin token: a random secret `portcullis dev` writes to a file
 * only its user can read (mode 0600), and `portcullis approve|reject` sends
 * as `Authorization: Bearer`. Reaching the admin port is then not enough to
 * let a held call through.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { bearerToken } from '../gate/headers.ts';

/** Where `portcullis dev` writes the token and `portcullis approve` reads it, relative to the working directory. */
export const DEFAULT_ADMIN_TOKEN_FILE = '.portcullis/admin-token';

/** Makes a fresh token and writes it to `path` (mode 0600, even when the file existed); returns it. */
export async function createAdminToken(path: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, token + '\n', { mode: 0o600 });
    // writeFile's mode applies only to a file it creates.
    await chmod(path, 0o600);
  } catch (e) {
    throw new PortcullisError(ErrorCodes.CONFIG, `cannot write the admin token file ${path}: ${(e as Error).message}; choose another with PORTCULLIS_ADMIN_TOKEN_FILE`, { setting: 'PORTCULLIS_ADMIN_TOKEN_FILE' }, { cause: e });
  }
  return token;
}

/** The token in `path`, or undefined when there is no such file. */
export async function readAdminToken(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim() || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PortcullisError(ErrorCodes.CONFIG, `cannot read the admin token file ${path}: ${(e as Error).message}`, { setting: 'PORTCULLIS_ADMIN_TOKEN_FILE' }, { cause: e });
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Whether `Authorization: Bearer …` carries `token` (compared in constant time). */
export function tokenMatches(authorization: string | undefined, token: string): boolean {
  const given = bearerToken(authorization);
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}
