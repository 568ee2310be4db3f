/** Progress on stderr for long-running commands: silent for the first second, then at most once a second. */
import type { CommandIO } from './command.ts';

export interface Progress {
  update(done: number, total: number, what: string): void;
  done(): void;
}

export function createProgress(io: CommandIO, label: string, now: () => number = Date.now): Progress {
  const start = now();
  let last = start;
  let shown = false;
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  return {
    update(done, total, what) {
      const t = now();
      if (t - start < 1000 || t - last < 1000) return;
      last = t;
      shown = true;
      const pct = total > 0 ? ` (${Math.min(100, Math.floor((done / total) * 100))}%)` : '';
      io.stderr.write(`${tty ? '\r' : ''}${label}: ${what}${pct}${tty ? '\x1b[K' : '\n'}`);
    },
    done() {
      if (shown && tty) io.stderr.write('\n');
    },
  };
}
