/**
 * Command-line arguments of the subcommands: every one parses with
 * node:util's parseArgs and answers misuse the same way (the problem, the
 * usage, exit code 2), so scripts can tell a wrong call from a failed one.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CommandIO } from './command.ts';

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** Prints `portcullis NAME: problem` and the usage; exit code 2, as for any misuse of the command line. */
export function usageError(io: CommandIO, name: string, problem: string, usage: string): number {
  io.stderr.write(`portcullis ${name}: ${problem}\n\n${usage}\n`);
  return 2;
}

/**
 * Parses `config.args` (strict: unknown options are refused). Returns the
 * parsed values, or, when the arguments are wrong, the exit code after the
 * problem and the usage were printed: `if (typeof parsed === 'number') return parsed;`.
 */
export function parseCommandArgs<const T extends ParseArgsConfig>(io: CommandIO, name: string, usage: string, config: T): Parsed<T> | number {
  try {
    return parseArgs(config);
  } catch (e) {
    return usageError(io, name, (e as Error).message, usage);
  }
}
