/** What the policy subcommands (compile, eval, test) share: error output with stable codes. */
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

/** Prints the problem and the usage; exit code 2, as for any misuse of the command line. */
export function usageError(io: CommandIO, name: string, problem: string, usage: string): number {
  io.stderr.write(`portcullis ${name}: ${problem}\n\n${usage}\n`);
  return 2;
}
