/** `portcullis replay LEDGER… [--bundle NEW]`: reproduces every recorded decision, or shows what NEW would change. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command, CommandIO } from '../command.ts';
import type { ReplayBundle, ReplayReport } from '../../evidence/replay.ts';
import { createProgress } from '../progress.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { reportError } from './policy-cli.ts';
import type { LedgerInputs } from '../ledger-inputs.ts';

const usage = `Usage: portcullis replay LEDGER... [--bundle FILE|DIR] [options]

Re-evaluates every recorded policy input. LEDGER is as for verify: files,
a folder, or a shipped ledger s3://BUCKET/PREFIX/NAMESPACE/POD/ (streamed;
the recorded policies are then read from its bundles/ folder).
  portcullis replay LEDGER...
      Reproduction: every decision is evaluated with the policy that made it
      and must come out bit for bit the same ("reproduced"); any difference is
      a "mismatch". The gate archives every policy that decides something
      beside its ledger (DIR/bundles/<digest>.tar.gz); a recorded policy found
      nowhere is named.
  portcullis replay LEDGER... --bundle NEW
      What-if: every decision is evaluated with NEW, and the ones that would
      change are listed with what differs (effect, reason, constraints,
      rewrite, ...): test a policy change against real traffic before rolling
      it out. Entries recorded under NEW's own digest are still checked bit
      for bit.

Options:
  -b, --bundle FILE|DIR  the bundle to evaluate with: an archive (.tar.gz) or
                         a policy directory (compiled here)
      --bundles DIR      where recorded policies are kept, for reproduction
                         (default: the bundles/ directory beside the first
                         ledger file)
      --s3-endpoint URL  the S3 API for s3:// locations (default
                         AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS's own)
      --json             print the report as JSON
      --fail-on-change   exit 1 when any decision would change (for CI)
      --limit N          list at most N rows (default 50; JSON: all kept)

Exit status: 0 when every decision was reproduced (or, with --bundle, whatever
would change is listed), 1 on a mismatch, an error, a missing recorded
policy, or (with --fail-on-change) a change; 2 on a usage error.`;

async function loadBundle(io: CommandIO, path: string): Promise<ReplayBundle> {
  const { loadBundleFrom } = await import('../../policy/load-bundle.ts');
  const { selectCompiler } = await import('../../policy/compiler.ts');
  const { OpaWasmEngine } = await import('../../policy/engine.ts');
  const bundle = await loadBundleFrom(resolve(io.cwd, path), { compiler: () => selectCompiler(io.env) });
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  return { digest: bundle.digest, engine, label: path };
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

interface ReplayFlags {
  bundle?: string[];
  bundles?: string;
  's3-endpoint'?: string;
  json?: boolean;
  'fail-on-change'?: boolean;
  limit?: string;
}

/** The row limit and the bundle to evaluate with, or the usage problem the flags have. */
function checkFlags(v: ReplayFlags, io: CommandIO): { limit: number; bundlePath: string | undefined } | string {
  const limit = v.limit === undefined ? 50 : Number(v.limit);
  if (!Number.isInteger(limit) || limit < 0) return '--limit must be a non-negative integer';
  const given = v.bundle ?? [];
  if (given.length > 1) return 'give one --bundle: the policy to evaluate every recorded decision with';
  if (given.length === 1 && v.bundles !== undefined) {
    io.stderr.write('replay: --bundles is not read with --bundle: every decision is evaluated with the given bundle\n');
  }
  return { limit, bundlePath: given[0] };
}

/** Where reproduction finds recorded policies, and how it loads one by digest. */
interface RecordedPolicies {
  store: string;
  resolve(digest: string): Promise<ReplayBundle | undefined>;
  /** Removes what was fetched for this run. */
  close(): Promise<void>;
}

/**
 * The bundle store: --bundles, else the bundles/ folder beside the first
 * ledger file; a shipped ledger's policies are fetched from its bundles/
 * folder into a temporary store as they are named.
 */
async function recordedPolicies(io: CommandIO, ledger: LedgerInputs, bundlesFlag: string | undefined): Promise<RecordedPolicies> {
  const { bundleStoreFor } = await import('../../evidence/bundle-store.ts');
  if (bundlesFlag) {
    const store = resolve(io.cwd, bundlesFlag);
    return { store, resolve: (digest) => fromStore(store, digest), close: async () => undefined };
  }
  const shipped = ledger.shipped;
  if (!shipped) {
    const store = bundleStoreFor(ledger.inputs[0] as string);
    return { store, resolve: (digest) => fromStore(store, digest), close: async () => undefined };
  }
  const fetched = await mkdtemp(join(tmpdir(), 'portcullis-replay-bundles-'));
  const { fetchShippedBundle } = await import('../../evidence/shipping/shipped-ledger.ts');
  return {
    store: fetched,
    resolve: async (digest) => ((await fetchShippedBundle(shipped.client, shipped.location, digest, fetched)) ? fromStore(fetched, digest) : undefined),
    close: () => rm(fetched, { recursive: true, force: true }),
  };
}

/** Replays the ledger with `bundle`, or with each recorded policy; the ledger and the fetched policies are closed whatever happens. */
async function replay(io: CommandIO, ledger: LedgerInputs, o: { bundle: ReplayBundle | undefined; policies: RecordedPolicies }): Promise<ReplayReport> {
  const { replayLedger } = await import('../../evidence/replay.ts');
  const progress = createProgress(io, 'replay');
  let report: ReplayReport;
  try {
    report = await replayLedger(ledger.inputs, {
      ...(o.bundle ? { bundle: o.bundle } : { resolve: o.policies.resolve }),
      onProgress: (p) => progress.update(p.bytes, p.totalBytes, `${p.intents} decisions`),
    });
  } finally {
    await ledger.close();
    await o.policies.close();
  }
  progress.done();
  return report;
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
        's3-endpoint': { type: 'string' },
        json: { type: 'boolean' },
        'fail-on-change': { type: 'boolean' },
        limit: { type: 'string' },
      },
    });
    if (typeof parsed === 'number') return parsed;
    const v = parsed.values;
    if (parsed.positionals.length === 0) return usageError(io, 'replay', 'name at least one ledger file', usage);
    const flags = checkFlags(v, io);
    if (typeof flags === 'string') return usageError(io, 'replay', flags, usage);
    try {
      const { openLedgerInputs } = await import('../ledger-inputs.ts');
      const bundle = flags.bundlePath !== undefined ? await loadBundle(io, flags.bundlePath) : undefined;
      const ledger = await openLedgerInputs(io, parsed.positionals, v['s3-endpoint']);
      const policies = await recordedPolicies(io, ledger, v.bundles);
      const report = await replay(io, ledger, { bundle, policies });
      const view = { bundle, store: policies.store, limit: flags.limit };
      if (v.json) printJson(io, report, view);
      else printReport(io, report, view);
      const failed = !report.ok || (v['fail-on-change'] === true && report.counts.changed > 0);
      return failed ? 1 : 0;
    } catch (e) {
      return reportError(io, 'replay', e);
    }
  },
};

/** How a report is shown: the bundle evaluated with (what-if) or the store searched (reproduction), and the row limit. */
interface ReportView {
  bundle: ReplayBundle | undefined;
  store: string;
  limit: number;
}

function printJson(io: CommandIO, report: ReplayReport, { bundle, store }: ReportView): void {
  const head = bundle ? { mode: 'what-if', bundle: { path: bundle.label, digest: bundle.digest } } : { mode: 'reproduce', bundle: null, store };
  io.stdout.write(JSON.stringify({ ...head, ...report }, null, 2) + '\n');
}

function printReport(io: CommandIO, r: ReplayReport, { bundle, store, limit }: ReportView): void {
  const out = (s: string): void => void io.stdout.write(s + '\n');
  const c = r.counts;
  if (bundle) out(`evaluating every recorded decision with ${bundle.label}: ${bundle.digest}`);
  for (const b of r.resolved) out(`recorded policy ${b.digest}: ${b.label}`);
  out(
    `replayed ${r.intents} decisions: ${c.reproduced} reproduced, ${c.mismatch} mismatched, ${c.unchanged} unchanged, ` +
      `${c.changed} would change, ${c.skipped} skipped (failed closed), ${c.unavailable} without their policy, ${c.error} errors`,
  );
  for (const [digest, n] of Object.entries(r.missingDigests)) {
    out(
      `recorded policy not available: ${digest} (${n} decisions): no ${digest.slice('sha256:'.length)}.tar.gz in the bundle store ${store}; ` +
        'point --bundles at the folder that holds it',
    );
  }
  if (r.rows.length === 0) return;
  printRows(out, r.rows, limit);
}

function printRows(out: (s: string) => void, all: ReplayReport['rows'], limit: number): void {
  const rows = all.slice(0, limit);
  const header = ['SEQ', 'TIME', 'TOOL', 'STATUS', 'RECORDED', 'REPLAYED', 'DIFFERS', 'REASON'];
  const cells = rows.map((row) => [
    String(row.seq),
    row.time,
    row.tool,
    row.status,
    row.recordedEffect,
    row.replayedEffect ?? '-',
    row.differences?.join(',') ?? '-',
    row.detail && row.status !== 'changed' ? row.detail : (row.replayedReason ?? ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => Math.min(c[i]!.length, 40))));
  const fmt = (cols: string[]): string => cols.map((col, i) => (i === cols.length - 1 ? col : col.slice(0, 40).padEnd(widths[i]!))).join('  ');
  out('');
  out(fmt(header));
  for (const row of cells) out(fmt(row));
  if (all.length > rows.length) out(`… ${all.length - rows.length} more (--limit, or --json for all)`);
}
