/** What the subcommands share for failures: error output with stable codes (misuse is `../args.ts`). */
import { isPortcullisError } from '../../errors.ts';
import type { CommandIO } from '../command.ts';

/** Prints `portcullis NAME: CODE: message` and returns exit code 1. */
export function reportError(io: CommandIO, name: string, e: unknown): number {
  if (isPortcullisError(e)) {
    io.stderr.write(`portcullis ${name}: ${e.code}: ${e.message}\n`);
  } else {
    io.stderr.write(`portcullis ${name}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  return 1;
}
