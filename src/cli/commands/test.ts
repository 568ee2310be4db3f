/** `portcullis test DIR [--json]`: runs a bundle's test cases and Rego test_ rules, like `opa test`. */
import { resolve } from 'node:path';
import type { Command, CommandIO } from '../command.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';
import type { BundleTestReport } from '../../policy/bundle-tests.ts';

const usage = `Usage: portcullis test DIR [--json] [-v] [--compiler NAME]

Compiles DIR with its *_test.rego modules and runs its tests: the cases of
portcullis.yaml and tests/*.yaml (input → expected effect) and every Rego
rule named test_* (passes when defined and true). Exit code 1 when any fails.

Options:
  --json          print the report as JSON
  -v, --verbose   print a line for passing tests too
  --compiler NAME portcullis or opa (default: opa when on PATH, else portcullis)`;

export const command: Command = {
  summary: "Run a policy directory's tests",
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'test', usage, {
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' }, compiler: { type: 'string' } },
    });
    if (typeof parsed === 'number') return parsed;
    const [dir, ...extra] = parsed.positionals;
    if (!dir || extra.length > 0) return usageError(io, 'test', 'give exactly one policy directory', usage);
    try {
      const { readBundleDir } = await import('../../policy/bundle-dir.ts');
      const { selectCompiler } = await import('../../policy/compiler.ts');
      const { runBundleTests } = await import('../../policy/bundle-tests.ts');
      const source = await readBundleDir(resolve(io.cwd, dir), { withTestModules: true });
      const env = parsed.values.compiler ? { ...io.env, PORTCULLIS_COMPILER: parsed.values.compiler } : io.env;
      const report = await runBundleTests(source, await selectCompiler(env));
      if (parsed.values.json) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printReport(io, report, parsed.values.verbose === true);
      return report.failed > 0 ? 1 : 0;
    } catch (e) {
      return reportError(io, 'test', e);
    }
  },
};

/** One line per failing test (per test with `verbose`), then the totals. */
function printReport(io: CommandIO, report: BundleTestReport, verbose: boolean): void {
  for (const r of report.results) {
    if (r.passed && !verbose) continue;
    const label = r.kind === 'rule' ? r.name : `case "${r.name}"`;
    io.stdout.write(`${label}: ${r.passed ? 'PASS' : 'FAIL'} (${formatMs(r.durationMs)})\n`);
    if (!r.passed) io.stdout.write(`  ${r.reason}\n`);
  }
  if (report.results.length === 0) io.stdout.write('no tests found\n');
  else io.stdout.write(`${'-'.repeat(40)}\nPASS: ${report.passed}/${report.results.length}` + (report.failed ? `\nFAIL: ${report.failed}/${report.results.length}` : '') + '\n');
}

function formatMs(ms: number): string {
  return ms < 1 ? `${Math.round(ms * 1000)}µs` : `${ms.toFixed(1)}ms`;
}
