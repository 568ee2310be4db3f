/** `portcullis replay LEDGER… [--bundle B]`: re-evaluates every recorded decision. */
import { join, resolve } from 'node:path';
import type { Command, CommandIO } from '../command.ts';
import type { ReplayBundle, ReplayReport } from '../../evidence/replay.ts';
import { createProgress } from '../progress.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';
import { ledgerFiles } from './verify.ts';

const usage = `Usage: portcullis replay LEDGER... [--bundle FILE|DIR]... [options]

Re-evaluates every recorded policy input.
  - Entries whose recorded policy digest matches a given bundle must be
    reproduced bit for bit ("reproduced"); any difference is a "mismatch".
  - Other entries are evaluated with the first bundle given, and the decisions
    that would change are listed ("changed"): test a policy change against
    real traffic before rolling it out.
The gate archives every policy that decides something beside its ledger
(DIR/bundles/<digest>.tar.gz); recorded policies found there are used
without being named. A digest found nowhere is named, with what to pass.

Options:
  -b, --bundle FILE|DIR  a bundle archive (.tar.gz) or a policy directory
                         (compiled here); repeat for several
      --bundles DIR      where recorded policies are kept (default: the
                         bundles/ directory beside the first ledger file)
      --json             print the report as JSON
      --fail-on-change   exit 1 when any decision would change
      --limit N          list at most N rows (default 50; JSON: all kept)

Exit status: 0 when every decision was reproduced (or, for another bundle,
whatever changed is listed), 1 on a mismatch, an error, a missing recorded
policy, or (with --fail-on-change) a change; 2 on a usage error.`;

async function loadBundles(io: CommandIO, paths: string[]): Promise<ReplayBundle[]> {
  if (paths.length === 0) return [];
  const { loadBundleFrom } = await import('../../policy/load-bundle.ts');
  const { selectCompiler } = await import('../../policy/compiler.ts');
  const { OpaWasmEngine } = await import('../../policy/engine.ts');
  const out: ReplayBundle[] = [];
  for (const p of paths) {
    const bundle = await loadBundleFrom(resolve(io.cwd, p), { compiler: () => selectCompiler(io.env) });
    const engine = new OpaWasmEngine();
    await engine.load(bundle);
    out.push({ digest: bundle.digest, engine, label: p });
  }
  return out;
}

/** The recorded policy with this digest from the bundle store, loaded. */
async function fromStore(dir: string, digest: string): Promise<ReplayBundle | undefined> {
  const { findStoredBundle } = await import('../../evidence/bundle-store.ts');
  const bundle = await findStoredBundle(dir, digest);
  if (!bundle) return undefined;
  const { OpaWasmEngine } = await import('../../policy/engine.ts');
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  return { digest: bundle.digest, engine, label: join(dir, `${digest.slice('sha256:'.length)}.tar.gz`) };
}

export const command: Command = {
  summary: 'Replay a ledger: reproduce recorded decisions, or see what another bundle would change',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandArgs(io, 'replay', usage, {
      args: argv,
      allowPositionals: true,
      options: {
        bundle: { type: 'string', short: 'b', multiple: true },
        bundles: { type: 'string' },
        json: { type: 'boolean' },
        'fail-on-change': { type: 'boolean' },
        limit: { type: 'string' },
      },
    });
    if (typeof parsed === 'number') return parsed;
    const v = parsed.values;
    if (parsed.positionals.length === 0) return usageError(io, 'replay', 'name at least one ledger file', usage);
    const limit = v.limit === undefined ? 50 : Number(v.limit);
    if (!Number.isInteger(limit) || limit < 0) return usageError(io, 'replay', '--limit must be a non-negative integer', usage);
    try {
      const { replayLedger } = await import('../../evidence/replay.ts');
      const files = await ledgerFiles(io, parsed.positionals);
      const bundles = await loadBundles(io, v.bundle ?? []);
      const { bundleStoreFor } = await import('../../evidence/bundle-store.ts');
      const store = v.bundles ? resolve(io.cwd, v.bundles) : bundleStoreFor(files[0]!);
      const progress = createProgress(io, 'replay');
      const report = await replayLedger(files, {
        bundles,
        resolve: (digest) => fromStore(store, digest),
        onProgress: (p) => progress.update(p.bytes, p.totalBytes, `${p.intents} decisions`),
      });
      progress.done();
      if (v.json) io.stdout.write(JSON.stringify({ bundles: bundles.map((b) => ({ path: b.label, digest: b.digest })), ...report }, null, 2) + '\n');
      else printReport(io, report, bundles, limit);
      const failed = !report.ok || (v['fail-on-change'] === true && report.counts.changed > 0);
      return failed ? 1 : 0;
    } catch (e) {
      return reportError(io, 'replay', e);
    }
  },
};

function printReport(io: CommandIO, r: ReplayReport, bundles: ReplayBundle[], limit: number): void {
  const out = (s: string): void => void io.stdout.write(s + '\n');
  const c = r.counts;
  for (const b of bundles) out(`bundle ${b.label}: ${b.digest}`);
  for (const b of r.resolved) out(`recorded policy ${b.digest}: ${b.label}`);
  if (bundles.length > 0 && c.reproduced + c.mismatch === 0 && c.unchanged + c.changed > 0) {
    out('none of the given bundles is the recorded policy of any entry: comparing what it decides with what was recorded');
  }
  out(
    `replayed ${r.intents} decisions: ${c.reproduced} reproduced, ${c.mismatch} mismatched, ${c.unchanged} unchanged, ` +
      `${c.changed} would change, ${c.skipped} skipped (failed closed), ${c.unavailable} without their policy, ${c.error} errors`,
  );
  for (const [digest, n] of Object.entries(r.missingDigests)) {
    out(`recorded policy not available: ${digest} (${n} decisions): not in the bundle store beside the ledger; pass --bundle with the archive or policy directory whose digest this is`);
  }
  if (r.rows.length === 0) return;
  const rows = r.rows.slice(0, limit);
  const header = ['SEQ', 'TIME', 'TOOL', 'STATUS', 'RECORDED', 'REPLAYED', 'REASON'];
  const cells = rows.map((row) => [
    String(row.seq),
    row.time,
    row.tool,
    row.status,
    row.recordedEffect,
    (row.replayedEffect ?? '-') + (row.rewritten ? ' (rewrite differs)' : ''),
    row.detail && row.status !== 'changed' ? row.detail : (row.replayedReason ?? ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => Math.min(c[i]!.length, 40))));
  const fmt = (cols: string[]): string => cols.map((col, i) => (i === cols.length - 1 ? col : col.slice(0, 40).padEnd(widths[i]!))).join('  ');
  out('');
  out(fmt(header));
  for (const row of cells) out(fmt(row));
  if (r.rows.length > rows.length) out(`… ${r.rows.length - rows.length} more (--limit, or --json for all)`);
}
