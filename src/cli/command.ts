/** What every `portcullis` subcommand implements. */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where `-` arguments read from; process.stdin when absent. */
  stdin?: NodeJS.ReadableStream;
}

export interface Command {
  /** One line for `portcullis help`. */
  summary: string;
  /** Full usage text for `portcullis help NAME` and for errors. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[], io: CommandIO): Promise<number>;
}
