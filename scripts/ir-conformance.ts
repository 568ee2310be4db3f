// Runs OPA's conformance cases through the wasm back end alone: each case's
// plan (OPA's own IR) is emitted, loaded in the OPA SDK with the case's data
// and input, and every entrypoint's result compared with `want_plan_result`.
//
//   node --import tsx scripts/ir-conformance.ts <dir> [--verbose] [--folder X] [--group core,core-ops]
//
// <dir> holds <folder>/<file>.json (cases with `plan`); GROUPS.txt next to
// it in ../opa-conformance/ (if present) adds per-group figures.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { emitWasm } from '../src/policy/rego/emit/index.ts';
import { isPortcullisError, ErrorCodes } from '../src/errors.ts';
import type { Policy } from '../src/policy/rego/ir.ts';

interface Case {
  note: string;
  plan?: Policy;
  entrypoints?: string[];
  data?: unknown;
  input?: unknown;
  input_term?: string;
  want_plan_result?: unknown[] | null;
  want_error_code?: string;
  want_error?: string;
  ignore?: boolean;
  sort_bindings?: boolean;
}

type Outcome = { kind: 'pass' } | { kind: 'fail'; why: string } | { kind: 'skip'; why: string };

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--'));
const verbose = args.includes('--verbose');
const folderArg = args.indexOf('--folder');
const onlyFolder = folderArg >= 0 ? args[folderArg + 1] : undefined;
const groupArg = args.indexOf('--group');
const onlyGroups = groupArg >= 0 ? new Set(args[groupArg + 1].split(',')) : undefined;
if (!dir) {
  console.error('usage: ir-conformance.ts <dir> [--verbose] [--folder X] [--group core,core-ops]');
  process.exit(2);
}

/** JSON with object keys sorted, for order-insensitive comparison. */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** With sort_bindings, arrays bound to variables are compared as multisets. */
function sortBindings(rs: unknown[]): unknown[] {
  return rs.map((r) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return r;
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) o[k] = Array.isArray(v) ? [...v].sort((x, y) => (canon(x) < canon(y) ? -1 : canon(x) > canon(y) ? 1 : 0)) : v;
    return o;
  });
}

function sameResultSet(got: unknown[], want: unknown[], sorted: boolean): boolean {
  if (sorted) {
    got = sortBindings(got);
    want = sortBindings(want);
  }
  const a = got.map(canon).sort();
  const b = want.map(canon).sort();
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function inputBytes(c: Case): ArrayBuffer | undefined | null {
  let text: string | undefined;
  if (c.input !== undefined) text = JSON.stringify(c.input);
  else if (c.input_term !== undefined) {
    try {
      text = JSON.stringify(JSON.parse(c.input_term));
    } catch {
      return null;
    }
  }
  if (text === undefined) return undefined;
  return new TextEncoder().encode(text).buffer as ArrayBuffer;
}

async function runCase(c: Case): Promise<Outcome> {
  if (c.ignore) return { kind: 'skip', why: 'ignored' };
  if (!c.plan) return { kind: 'skip', why: 'no plan' };
  const input = inputBytes(c);
  if (input === null) return { kind: 'skip', why: 'input_term is not JSON' };
  const wantError = c.want_error_code !== undefined || c.want_error !== undefined;
  let wasm: Uint8Array;
  try {
    wasm = emitWasm(c.plan);
  } catch (e) {
    if (isPortcullisError(e) && e.code === ErrorCodes.REGO_UNSUPPORTED_BUILTIN) {
      return { kind: 'fail', why: `unsupported builtin ${String(e.details?.builtin)}` };
    }
    return { kind: 'fail', why: `emit: ${(e as Error).message}` };
  }
  // Builtins the host provides (the SDK has no clock).
  const policy = await loadPolicy(wasm, undefined, { 'time.now_ns': () => Date.now() * 1e6 });
  if (c.data !== undefined) policy.setData(c.data as object);
  for (const ep of c.entrypoints ?? [c.plan.plans.plans[0]?.name ?? '']) {
    let got: unknown[];
    try {
      got = policy.evaluate(input, ep) as unknown[];
    } catch (e) {
      const msg = typeof e === 'string' ? e : (e as Error).message ?? String(e);
      if (wantError) {
        if (c.want_error_code && !msg.includes(c.want_error_code)) return { kind: 'fail', why: `error code: want ${c.want_error_code}, got ${msg}` };
        return { kind: 'pass' };
      }
      return { kind: 'fail', why: `eval error: ${msg}` };
    }
    if (wantError) return { kind: 'fail', why: `want error ${c.want_error_code ?? c.want_error}, got ${JSON.stringify(got)}` };
    const want = c.want_plan_result ?? [];
    if (!sameResultSet(got, want, c.sort_bindings === true)) return { kind: 'fail', why: `want ${canon(want)}\n      got  ${canon(got)}` };
  }
  return { kind: 'pass' };
}

function readGroups(): Map<string, string> {
  const groups = new Map<string, string>();
  const file = join(dirname(dir!), 'opa-conformance', 'GROUPS.txt');
  if (!existsSync(file)) return groups;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\S+)\s+\d+\s+\d+\s+(\S+)/.exec(line);
    if (m && !line.startsWith('#')) groups.set(m[1], m[2]);
  }
  return groups;
}

const groups = readGroups();
const totals = { pass: 0, fail: 0, skip: 0 };
const byGroup = new Map<string, { pass: number; fail: number; skip: number }>();
const reasons = new Map<string, number>();
const started = performance.now();
for (const folder of readdirSync(dir).sort()) {
  if (onlyFolder && folder !== onlyFolder) continue;
  if (onlyGroups && !onlyGroups.has(groups.get(folder) ?? '?')) continue;
  const path = join(dir, folder);
  if (!existsSync(path) || !readdirSync(path).length) continue;
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const file of readdirSync(path).filter((f) => f.endsWith('.json')).sort()) {
    const { cases } = JSON.parse(readFileSync(join(path, file), 'utf8')) as { cases: Case[] };
    for (const c of cases) {
      const r = await runCase(c);
      counts[r.kind]++;
      if (r.kind !== 'pass') {
        const key = r.why.split('\n')[0].replace(/want .*/, 'wrong result').slice(0, 90);
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
        if (verbose) console.log(`  ${r.kind.toUpperCase()} ${folder}/${file} ${c.note}: ${r.why}`);
      }
    }
  }
  const group = groups.get(folder) ?? '?';
  const g = byGroup.get(group) ?? { pass: 0, fail: 0, skip: 0 };
  for (const k of ['pass', 'fail', 'skip'] as const) {
    totals[k] += counts[k];
    g[k] += counts[k];
  }
  byGroup.set(group, g);
  console.log(`${folder.padEnd(40)} ${group.padEnd(9)} ${counts.pass}/${counts.pass + counts.fail}${counts.skip ? ` (${counts.skip} skipped)` : ''}`);
}
console.log('\nby group:');
for (const [g, c] of [...byGroup].sort()) console.log(`  ${g.padEnd(9)} ${c.pass}/${c.pass + c.fail} passed${c.skip ? `, ${c.skip} skipped` : ''}`);
console.log('\ncommon reasons:');
for (const [r, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${String(n).padStart(4)}  ${r}`);
console.log(`\n${totals.pass} passed, ${totals.fail} failed, ${totals.skip} skipped (${((performance.now() - started) / 1000).toFixed(1)} s)`);
