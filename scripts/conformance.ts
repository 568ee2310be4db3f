/**
 * OPA's Rego conformance cases through the Portcullis pipeline.
 *
 *   npm run conformance -- DIR [--json] [--verbose] [--folder X]... [--summary]
 *                              [--note SUBSTRING] [--timeout MS] [--jobs N] [--strict]
 *                              [--loose-errors]
 *                              [--oracle opa [--opa PATH] [--opa-jobs N]]
 *
 * DIR holds one folder of YAML cases per topic and GROUPS.txt (default:
 * $PORTCULLIS_CONFORMANCE_DIR or ../shared/opa-conformance). Each case runs
 * in a child process with a timeout, so a hang or a crash costs one case.
 * With `--oracle opa` every case also goes to the real `opa eval` (the one
 * scripts/e2e-tools.sh builds, or --opa PATH; --opa-jobs processes at once,
 * default 2) and each case where OPA and Portcullis answer differently is
 * listed (conformance/opa-oracle.ts).
 * A case that expects an error code passes only on that code; with
 * --loose-errors any evaluation error meets an eval_type_error or
 * eval_builtin_error expectation (conformance/error-match.ts).
 * Informational: exits 0 even with failures unless --strict.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCases, readGroups, type ConformanceCase } from './conformance/cases.ts';
import type { CaseOutcome, RunOptions } from './conformance/run-case.ts';
import { agree, askOpa, describe, opaMeetsExpectation, type OracleAnswer } from './conformance/opa-oracle.ts';
import { OpaEvaluator } from '../test/support/opa-eval.ts';
import { toolPath } from '../test/support/tools.ts';

interface CaseReport extends CaseOutcome {
  file: string;
  folder: string;
  group: string;
  note: string;
}

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const WORKER = fileURLToPath(new URL('./conformance/worker.ts', import.meta.url));

/** How long a fresh child may take to load and warm the compiler (a loaded machine is slow). */
const START_TIMEOUT_MS = 180_000;

/** One child process running cases one after another, replaced when it hangs or dies. */
class CaseRunner {
  #child: { process: ChildProcess; ready: Promise<boolean>; stderr: () => string } | undefined;
  #next = 0;
  readonly #timeoutMs: number;
  readonly #options: RunOptions;

  constructor(timeoutMs: number, options: RunOptions) {
    this.#timeoutMs = timeoutMs;
    this.#options = options;
  }

  #spawn(): { process: ChildProcess; ready: Promise<boolean>; stderr: () => string } {
    const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    // The last words of a child that dies explain the failure of the case it ran.
    let tail = '';
    child.stderr!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-600)));
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
      child.on('message', (msg: { ready?: boolean }) => {
        if (msg.ready) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    return { process: child, ready, stderr: () => tail.trim() };
  }

  async run(c: ConformanceCase): Promise<CaseOutcome> {
    const worker = (this.#child ??= this.#spawn());
    if (!(await worker.ready)) {
      worker.process.kill('SIGKILL');
      this.#child = undefined;
      return { status: 'fail', reason: `the case runner process did not start: ${worker.stderr() || 'no output'}` };
    }
    const { process: child, stderr } = worker;
    const id = ++this.#next;
    return new Promise((resolve) => {
      const finish = (outcome: CaseOutcome, kill: boolean) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (kill) {
          child.kill('SIGKILL');
          this.#child = undefined;
        }
        resolve(outcome);
      };
      const onMessage = (msg: { id?: number; outcome?: CaseOutcome }) => {
        if (msg.id === id && msg.outcome) finish(msg.outcome, false);
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.#child = undefined;
        finish({ status: 'fail', reason: `the case crashed its process (exit ${code ?? signal}): ${stderr() || 'no output'}` }, false);
      };
      const timer = setTimeout(() => finish({ status: 'fail', reason: `timed out after ${this.#timeoutMs} ms` }, true), this.#timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ id, case: c, options: this.#options });
    });
  }

  close(): void {
    this.#child?.process.disconnect();
    this.#child = undefined;
  }
}

interface Disagreement {
  file: string;
  note: string;
  opa: string;
  portcullis: string;
}

interface OracleReport {
  compared: number;
  notCompared: number;
  disagreements: Disagreement[];
  /** Cases where OPA itself does not give what the case expects: limits of how the oracle hands cases to `opa eval`. */
  opaVsExpectation: Disagreement[];
}

/** Progress on stderr every 100 cases, on either side, so a long run shows it is moving. */
function progress(total: number, started: number): { tick(side: 'portcullis' | 'opa', disagreements: () => number): void } {
  const done = { portcullis: 0, opa: 0 };
  return {
    tick(side, disagreements) {
      done[side]++;
      if (done[side] % 100 !== 0 && done[side] !== total) return;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stderr.write(`oracle: portcullis ${done.portcullis}/${total}, opa ${done.opa}/${total}, ${disagreements()} disagreements so far (${seconds} s)\n`);
    },
  };
}

function oracleReport(cases: ConformanceCase[], reports: CaseReport[], answers: OracleAnswer[]): OracleReport {
  const out: OracleReport = { compared: 0, notCompared: 0, disagreements: [], opaVsExpectation: [] };
  cases.forEach((c, i) => {
    const ours = reports[i]!.observed;
    const opa = answers[i]!;
    const line = { file: c.file, note: c.note, opa: describe(opa), portcullis: describe(ours) };
    if (!opaMeetsExpectation(c, opa)) out.opaVsExpectation.push(line);
    if (ours === undefined || opa.kind === 'none') {
      out.notCompared++;
      return;
    }
    out.compared++;
    if (!agree(c, ours, opa)) out.disagreements.push(line);
  });
  return out;
}

function printOracle(o: OracleReport, verbose: boolean): void {
  console.log(`\nOPA oracle: ${o.compared} cases compared with opa eval, ${o.notCompared} not compared (skipped by Portcullis or no answer from opa)`);
  console.log(`${o.disagreements.length} disagreements between OPA and Portcullis`);
  for (const d of o.disagreements) console.log(`DISAGREE ${d.file} "${d.note}"\n  opa:        ${d.opa}\n  portcullis: ${d.portcullis}`);
  console.log(`OPA differs from the case's own expectation in ${o.opaVsExpectation.length} cases (how the oracle hands a case to opa eval${verbose ? '' : '; --verbose lists them'})`);
  if (verbose) for (const d of o.opaVsExpectation) console.log(`OPA-VS-CASE ${d.file} "${d.note}": opa gave ${d.opa}`);
}

function tally(reports: CaseReport[], key: (r: CaseReport) => string): Map<string, Tally> {
  const out = new Map<string, Tally>();
  for (const r of reports) {
    const t = out.get(key(r)) ?? { passed: 0, failed: 0, skipped: 0 };
    if (r.status === 'pass') t.passed++;
    else if (r.status === 'fail') t.failed++;
    else t.skipped++;
    out.set(key(r), t);
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function pct(t: Tally): string {
  const run = t.passed + t.failed;
  return run === 0 ? '    -' : `${((100 * t.passed) / run).toFixed(1).padStart(5)}%`;
}

function table(title: string, rows: Map<string, Tally>): string {
  const width = Math.max(title.length, ...[...rows.keys()].map((k) => k.length));
  const lines = [`${title.padEnd(width)}  passed  failed  skipped   pass`];
  for (const [name, t] of rows) {
    lines.push(`${name.padEnd(width)}  ${String(t.passed).padStart(6)}  ${String(t.failed).padStart(6)}  ${String(t.skipped).padStart(7)}  ${pct(t)}`);
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      folder: { type: 'string', multiple: true },
      note: { type: 'string' },
      summary: { type: 'boolean' },
      strict: { type: 'boolean' },
      'loose-errors': { type: 'boolean' },
      timeout: { type: 'string', default: '10000' },
      jobs: { type: 'string', default: '1' },
      oracle: { type: 'string' },
      opa: { type: 'string' },
      'opa-jobs': { type: 'string', default: '2' },
    },
  });
  if (values.oracle !== undefined && values.oracle !== 'opa') throw new Error(`--oracle takes "opa", not "${values.oracle}"`);
  const dir = resolve(positionals[0] ?? process.env.PORTCULLIS_CONFORMANCE_DIR ?? '../shared/opa-conformance');
  if (!existsSync(dir)) {
    console.log(`conformance: no case directory at ${dir}; nothing to run (give DIR or set PORTCULLIS_CONFORMANCE_DIR)`);
    return 0;
  }
  const groups = await readGroups(dir);
  const note = values.note;
  const cases = (await readCases(dir, values.folder ?? [])).filter((c) => note === undefined || String(c.note).includes(note));
  const jobs = Math.max(1, Number(values.jobs) || 1);
  const runners = Array.from({ length: jobs }, () => new CaseRunner(Number(values.timeout) || 10000, { strictErrors: values['loose-errors'] !== true }));
  const reports: CaseReport[] = new Array(cases.length);
  let cursor = 0;
  const started = Date.now();
  const ticker = progress(cases.length, started);
  let disagreements = 0;
  const answers: OracleAnswer[] = new Array(cases.length);
  const countDisagreement = (i: number): void => {
    const ours = reports[i]?.observed;
    const opa = answers[i];
    if (ours && opa && opa.kind !== 'none' && !agree(cases[i]!, ours, opa)) disagreements++;
  };
  // OPA's answers are asked for all at once; the evaluator runs --opa-jobs of them at a time, beside the case runners.
  const evaluator = values.oracle ? new OpaEvaluator(values.opa ?? toolPath('opa'), { concurrency: Number(values['opa-jobs']) || 2, timeoutMs: Number(values.timeout) || 10000 }) : undefined;
  const asked = evaluator
    ? cases.map((c, i) =>
        askOpa(evaluator, c)
          .catch((e: unknown): OracleAnswer => ({ kind: 'none', message: e instanceof Error ? e.message : String(e) }))
          .then((answer) => {
            answers[i] = answer;
            countDisagreement(i);
            ticker.tick('opa', () => disagreements);
          }),
      )
    : [];
  await Promise.all([
    ...asked,
    ...runners.map(async (runner) => {
      while (cursor < cases.length) {
        const i = cursor++;
        const c = cases[i]!;
        let outcome: CaseOutcome;
        try {
          outcome = await runner.run(c);
        } catch (e) {
          // Nothing about one case may stop the run.
          outcome = { status: 'fail', reason: `runner error: ${e instanceof Error ? e.message : String(e)}` };
        }
        reports[i] = { ...outcome, file: c.file, folder: c.folder, group: groups.get(c.folder) ?? 'other', note: c.note };
        if (evaluator) {
          countDisagreement(i);
          ticker.tick('portcullis', () => disagreements);
        } else if (!values.json && process.stderr.isTTY) process.stderr.write(`\r${i + 1}/${cases.length}`);
      }
      runner.close();
    }),
  ]);
  if (!evaluator && !values.json && process.stderr.isTTY) process.stderr.write('\r');
  const oracle = evaluator ? oracleReport(cases, reports, answers) : undefined;
  const totals = tally(reports, () => 'total').get('total') ?? { passed: 0, failed: 0, skipped: 0 };
  const byGroup = tally(reports, (r) => r.group);
  const byFolder = tally(reports, (r) => r.folder);
  const seconds = (Date.now() - started) / 1000;

  if (values.json) {
    console.log(JSON.stringify({ dir, seconds, totals, groups: Object.fromEntries(byGroup), folders: Object.fromEntries(byFolder), cases: reports, oracle }, null, 2));
  } else {
    if (values.verbose) {
      for (const r of reports) if (r.status === 'fail') console.log(`FAIL ${r.file} "${r.note}"${r.stage ? ` [${r.stage}]` : ''}: ${r.reason}`);
      for (const r of reports) if (r.status === 'skip') console.log(`SKIP ${r.file} "${r.note}": ${r.reason}`);
      console.log('');
    }
    console.log(table('group', byGroup));
    if (!values.summary) console.log('\n' + table('folder', byFolder));
    const skipReasons = tally(reports.filter((r) => r.status === 'skip'), (r) => r.reason ?? '');
    if (skipReasons.size > 0) {
      console.log('\nskipped (the query cannot be an entrypoint):');
      for (const [reason, t] of skipReasons) console.log(`  ${String(t.skipped).padStart(4)}  ${reason}`);
    }
    if (oracle) printOracle(oracle, values.verbose === true);
    console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped (${seconds.toFixed(1)} s)`);
  }
  return values.strict && (totals.failed > 0 || (oracle?.disagreements.length ?? 0) > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`conformance: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(2);
  },
);
