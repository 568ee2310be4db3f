/**
 * The `portcullis` command: dispatches to one module per subcommand. Each
 * module is imported only when its command runs, so `portcullis verify` does
 * not load the proxy, and the compiler is not loaded to print help.
 */
import type { Command, CommandIO } from './command.ts';

const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  approve: () => import('./commands/approve.ts'),
  'capture-init': () => import('./commands/capture-init.ts'),
  compile: () => import('./commands/compile.ts'),
  controller: () => import('./commands/controller.ts'),
  'demo-tools': () => import('./commands/demo-tools.ts'),
  dev: () => import('./commands/dev.ts'),
  eval: () => import('./commands/eval.ts'),
  'ledger-keygen': () => import('./commands/ledger-keygen.ts'),
  mcp: () => import('./commands/mcp.ts'),
  reject: () => import('./commands/reject.ts'),
  replay: () => import('./commands/replay.ts'),
  sidecar: () => import('./commands/sidecar.ts'),
  test: () => import('./commands/test.ts'),
  verify: () => import('./commands/verify.ts'),
};

function help(io: CommandIO, names: string[]): Promise<number> {
  io.stdout.write('Usage: portcullis <command> [options]\n\nCommands:\n');
  return Promise.all(names.map(async (n) => [n, (await COMMANDS[n]!()).command.summary] as const)).then((rows) => {
    for (const [n, s] of rows) io.stdout.write(`  ${n.padEnd(12)} ${s}\n`);
    io.stdout.write('\nRun `portcullis help <command>` for the options of one command.\n');
    return 0;
  });
}

export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  const names = Object.keys(COMMANDS).sort();
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const target = rest[0];
    if (target && COMMANDS[target]) {
      io.stdout.write((await COMMANDS[target]()).command.usage + '\n');
      return 0;
    }
    return help(io, names);
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`portcullis: unknown command "${name}". Commands: ${names.join(', ')}. Try \`portcullis help\`.\n`);
    return 2;
  }
  const { command } = await load();
  return command.run(rest, io);
}

/** Entry used by bin/portcullis.js. */
export async function runFromProcess(): Promise<void> {
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
  // Long-running commands (dev, controller) resolve only when they stop.
  process.exitCode = code;
  // A finished command has closed what it owns (servers, the ledger, a
  // bounded flush of the last spans). What can still hold the process is a
  // trace exporter retrying a collector that is not there, for seconds: it
  // does not delay the exit. Output still being written to a pipe does.
  const exitWhenDrained = (): void => {
    if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) setTimeout(exitWhenDrained, 100).unref();
    else process.exit(code);
  };
  setTimeout(exitWhenDrained, EXIT_GRACE_MS).unref();
}

/** How long a finished command's leftover timers may keep the process before it exits anyway. */
const EXIT_GRACE_MS = 500;
