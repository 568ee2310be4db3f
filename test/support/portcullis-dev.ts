/**
 * `portcullis dev` as a real child process for the end-to-end tests: started
 * from `bin/portcullis.js` in a directory of the test's own (its `policies`
 * folder, its `.portcullis` state), what it prints kept, its addresses read
 * from those lines, stopped at the end. The handle exists as soon as the
 * process does, so a test's `after` stops it even when waiting for it failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { capture, waitFor } from '../packaging/processes.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The lines `portcullis dev` prints at start-up; group 1 is the address. */
export const DevLines = {
  proxy: /export HTTP_PROXY=(http:\/\/127\.0\.0\.1:\d+)/,
  /** The admin port's origin, from its readiness address. */
  admin: /admin\s+(http:\/\/127\.0\.0\.1:\d+)\/readyz/,
  /** The admin port's origin, from the approval page's address. */
  approvalPage: /approval page\s+(http:\/\/127\.0\.0\.1:\d+)\/approvals\//,
} as const;

export interface DevOptions {
  /** Where it runs: `policies` below it is served, `.portcullis` below it is written. */
  cwd: string;
  /** 0 (the default) lets the system choose. */
  adminPort?: number;
  /** Added to the test's environment, after tracing off and warn-level logs. */
  env?: Record<string, string>;
}

export interface DevProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  readonly output: { text: string };
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Resolves with the match once `re` matches what it printed; rejects when it exits first. */
  waitFor(re: RegExp): Promise<RegExpExecArray>;
  /** Group 1 of the line `re` once printed: an address from `DevLines`. */
  address(re: RegExp): Promise<string>;
  /** The file it writes its admin token to, and the token in it. */
  readonly adminTokenFile: string;
  adminToken(): Promise<string>;
  /** SIGTERM unless it has already exited; resolves once it has. */
  stop(): Promise<void>;
}

export function startDev(options: DevOptions): DevProcess {
  const args = [join(ROOT, 'bin', 'portcullis.js'), 'dev', '--policies', 'policies', '--port', '0', '--admin-port', String(options.adminPort ?? 0), '--no-ledger'];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', PORTCULLIS_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '' };
  capture(child, output);
  // Listened for now: a test that stops the process itself still learns how it ended.
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const adminTokenFile = join(options.cwd, '.portcullis', 'admin-token');
  const wait = (re: RegExp): Promise<RegExpExecArray> => waitFor(output, re, child, 'portcullis dev');
  return {
    child,
    output,
    exited,
    waitFor: wait,
    address: async (re) => (await wait(re))[1]!,
    adminTokenFile,
    adminToken: async () => (await readFile(adminTokenFile, 'utf8')).trim(),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
