/**
 * The benchmark harness: `npm run bench -- [--suite NAME]... [--json] [--quick]`.
 * Runs the suites of bench/suites/index.ts one after another and prints a
 * table (or JSON) where every figure stands beside the ratio to its suite's
 * baseline measured in the same run.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { SUITES } from './suites/index.ts';
import type { Metric, SuiteResult } from './suite.ts';

interface Report {
  node: string;
  cpus: number;
  quick: boolean;
  suites: ({ name: string; description: string } & (SuiteResult | { error: string }))[];
}

function withRatios(result: SuiteResult): SuiteResult {
  const byName = new Map(result.metrics.map((m) => [m.name, m]));
  const metrics = result.metrics.map((m): Metric => {
    const base = m.baseline ? byName.get(m.baseline) : undefined;
    return base && base.value > 0 ? { ...m, ratio: m.value / base.value } : m;
  });
  return { ...result, metrics };
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function printRows(rows: string[][], rightAligned: (column: number) => boolean): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const [n, r] of rows.entries()) {
    console.log(r.map((c, i) => (rightAligned(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

function printTable(report: Report): void {
  const rows: string[][] = [['suite', 'metric', 'value', 'unit', '× baseline', 'spread', 'goal']];
  for (const s of report.suites) {
    if ('error' in s) {
      rows.push([s.name, `FAILED: ${s.error}`, '', '', '', '', '']);
      continue;
    }
    const baselines = new Set(s.metrics.map((m) => m.baseline));
    for (const m of s.metrics) {
      const ratio = m.ratio !== undefined ? `${format(m.ratio)}×` : baselines.has(m.name) ? 'baseline' : '';
      const spread = m.low !== undefined && m.high !== undefined ? `${format(m.low)}–${format(m.high)}` : '';
      const goal = m.goal === undefined ? '' : `${m.goal}${m.meets === undefined ? '' : m.meets ? ' met' : ' NOT met'}`;
      rows.push([s.name, m.name, format(m.value), m.unit, ratio, spread, goal]);
    }
  }
  printRows(rows, (i) => i === 2 || i === 4 || i === 5);
  for (const s of report.suites) {
    if ('error' in s) continue;
    for (const t of s.tables ?? []) {
      console.log(`\n${s.name}: ${t.title}\n`);
      printRows([t.header, ...t.rows], (i) => i > 0);
    }
  }
  for (const s of report.suites) if (!('error' in s)) for (const note of s.notes ?? []) console.log(`\n${s.name}: ${note}`);
  console.log(`\nnode ${report.node}, ${report.cpus} cpus${report.quick ? ', --quick' : ''}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { suite: { type: 'string', multiple: true }, json: { type: 'boolean' }, quick: { type: 'boolean' } },
  });
  const names = values.suite ?? Object.keys(SUITES);
  const unknown = names.filter((n) => !SUITES[n]);
  if (unknown.length > 0) {
    console.error(`bench: unknown suite ${unknown.join(', ')}; suites: ${Object.keys(SUITES).join(', ')}`);
    return 2;
  }
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
  const ctx = { quick: values.quick ?? false, root, log: (line: string) => process.stderr.write(line + '\n') };
  const report: Report = { node: process.version, cpus: cpus().length, quick: ctx.quick, suites: [] };
  let failed = false;
  for (const name of names) {
    const { suite } = await SUITES[name]!();
    try {
      report.suites.push({ name, description: suite.description, ...withRatios(await suite.run(ctx)) });
    } catch (e) {
      failed = true;
      report.suites.push({ name, description: suite.description, error: e instanceof Error ? e.message : String(e) });
    }
  }
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else printTable(report);
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code));
