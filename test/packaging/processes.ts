/** Child processes for the tests that run the gate the way a reader does (packaging, and `portcullis dev` in test/support/portcullis-dev.ts). */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A loopback port free right now (closed before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Appends everything the child prints, stdout and stderr interleaved, to `out.text`. */
export function capture(child: ChildProcess, out: { text: string }): ChildProcess {
  child.stdout!.on('data', (c: Buffer) => (out.text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out.text += c.toString()));
  return child;
}

/** Resolves with the match once `re` matches what the child printed; rejects when it exits first. */
export function waitFor(out: { text: string }, re: RegExp, child: ChildProcess, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = re.exec(out.text);
      if (m) {
        clearInterval(timer);
        resolve(m);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`${what} exited (${child.exitCode}) before printing ${re}:\n${out.text}`));
      }
    }, 50);
  });
}
