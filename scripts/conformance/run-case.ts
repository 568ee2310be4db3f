/**
 * One conformance case through the Portcullis pipeline: compile its modules
 * and data with the query's refs as entrypoints, evaluate through opa-wasm,
 * read the bindings out of the results and compare them with the case's
 * expectation.
 */
import { isDeepStrictEqual } from 'node:util';
import { isPortcullisError } from '../../src/errors.ts';
import { errorMismatch } from './error-match.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { sortBindingValues } from './value-order.ts';
import { inputTermToJson, planQuery, Unsupported, type ConformanceCase, type QueryPlan, type QueryTerm } from './cases.ts';

export type Row = Record<string, unknown>;

/** What an evaluator answered for a case: the query's binding rows, or an error. */
export type Observed = { kind: 'rows'; rows: Row[] } | { kind: 'error'; stage: 'compile' | 'eval'; message: string };

export interface CaseOutcome {
  status: 'pass' | 'fail' | 'skip';
  reason?: string;
  /** Where it failed: compile, eval or compare. */
  stage?: 'compile' | 'eval' | 'compare';
  /** Portcullis's own answer (absent when the case was skipped or did not run), for `--oracle`. */
  observed?: Observed;
}

/**
 * How the case's refs are evaluated: directly as entrypoints, or, when the
 * input is a Rego term JSON cannot carry (a set), through one wrapper rule per
 * ref that evaluates it `with input as` that term.
 */
interface Evaluation {
  modules: { path: string; source: string }[];
  /** ref path (a/b) → the entrypoint that yields its value. */
  entrypointOf: Map<string, string>;
  input: unknown;
}

const WRAPPER_PACKAGE = 'conformance_input_wrapper';

function evaluation(c: ConformanceCase, plan: QueryPlan): Evaluation {
  const modules = c.modules.map((source, i) => ({ path: `test-${i}.rego`, source }));
  let input: unknown = c.input;
  if (c.input_term !== undefined) {
    try {
      input = inputTermToJson(c.input_term);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      const rules = plan.entrypoints.map((e, i) => `r${i} := v if {\n\tv := data.${e.replaceAll('/', '.')} with input as ${c.input_term}\n}\n`);
      modules.push({ path: 'input-wrapper.rego', source: `package ${WRAPPER_PACKAGE}\n\n${rules.join('\n')}` });
      return { modules, input: undefined, entrypointOf: new Map(plan.entrypoints.map((e, i) => [e, `${WRAPPER_PACKAGE}/r${i}`])) };
    }
  }
  return { modules, input, entrypointOf: new Map(plan.entrypoints.map((e) => [e, e])) };
}

export interface RunOptions {
  /** A case wanting an error code passes only on that code (see error-match.ts). */
  strictErrors: boolean;
}

export async function runCase(c: ConformanceCase, options: RunOptions = { strictErrors: true }): Promise<CaseOutcome> {
  if (c.unreadable !== undefined) return { status: 'fail', reason: `the case file is not valid YAML: ${c.unreadable}` };
  let plan: QueryPlan;
  try {
    plan = planQuery(c.query);
  } catch (e) {
    if (e instanceof Unsupported) return { status: 'skip', reason: e.message };
    throw e;
  }
  const wantError = c.want_error_code !== undefined || c.want_error !== undefined;
  const { modules, input, entrypointOf } = evaluation(c, plan);

  let engine: OpaWasmEngine;
  try {
    const bundle = await new PortcullisCompiler().compile({
      modules,
      data: c.data ?? {},
      entrypoints: [...entrypointOf.values()],
      tools: [],
      tests: [],
    });
    // OPA's harness runs strict only the cases that ask; otherwise a builtin's error is undefined.
    engine = new OpaWasmEngine({ strictBuiltinErrors: c.strict_error === true });
    await engine.load(bundle);
  } catch (e) {
    return { ...failure(c, 'compile', e, wantError, options), observed: { kind: 'error', stage: 'compile', message: errorText(e) } };
  }

  const results = new Map<string, unknown>();
  try {
    for (const [path, entrypoint] of entrypointOf) results.set(path, engine.evaluate(input, entrypoint).result);
  } catch (e) {
    return { ...failure(c, 'eval', e, wantError, options), observed: { kind: 'error', stage: 'eval', message: errorText(e) } };
  }
  const rows = visibleRows(bindings(plan, results, input));
  const observed: Observed = { kind: 'rows', rows };
  if (wantError) return { status: 'fail', stage: 'eval', reason: `want error ${c.want_error_code ?? JSON.stringify(c.want_error)}, got ${show(results)}`, observed };
  return { ...compare(c, rows), observed };
}

/** Rows without the variables the query generated (`__…`). */
export function visibleRows(rows: Row[]): Row[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('__'))));
}

function errorText(e: unknown): string {
  if (isPortcullisError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

function failure(c: ConformanceCase, stage: 'compile' | 'eval', e: unknown, wantError: boolean, options: RunOptions): CaseOutcome {
  if (!wantError) return { status: 'fail', stage, reason: errorText(e) };
  const mismatch = errorMismatch(c, stage, e, errorText(e), options.strictErrors);
  return mismatch === undefined ? { status: 'pass' } : { status: 'fail', stage, reason: mismatch };
}

/** Values the ref (with its optional key) takes: [key binding, value] pairs. */
function refValues(term: Extract<QueryTerm, { kind: 'ref' }>, value: unknown): [unknown, unknown][] {
  if (value === undefined) return [];
  if (!term.key) return [[undefined, value]];
  if ('var' in term.key) {
    // JSON cannot tell a set from an array; a var key over an array is read as a set, as partial set rules are.
    if (Array.isArray(value)) return value.map((v) => [v, v]);
    if (value && typeof value === 'object') return Object.entries(value);
    return [];
  }
  const key = term.key.value;
  if (Array.isArray(value)) {
    if (typeof key === 'number') return key in value ? [[key, value[key]]] : [];
    return value.some((v) => isDeepStrictEqual(v, key)) ? [[key, key]] : [];
  }
  if (value && typeof value === 'object') {
    // An object with non-string keys comes out of the wasm's JSON with each key as its JSON text.
    const name = typeof key === 'string' ? key : JSON.stringify(key);
    if (Object.hasOwn(value, name)) return [[key, (value as Row)[name]]];
  }
  return [];
}

function unify(row: Row, term: QueryTerm, value: unknown, input: unknown): Row | undefined {
  if (term.kind === 'var') {
    if (term.name in row) return isDeepStrictEqual(row[term.name], value) ? row : undefined;
    return { ...row, [term.name]: value };
  }
  if (term.kind === 'value') return isDeepStrictEqual(term.value, value) ? row : undefined;
  if (term.kind === 'input') return isDeepStrictEqual(input, value) ? row : undefined;
  return undefined;
}

function bindings(plan: QueryPlan, results: Map<string, unknown>, input: unknown): Row[] {
  let rows: Row[] = [{}];
  for (const [ref, other] of plan.conjuncts) {
    if (ref.kind !== 'ref') return [];
    const next: Row[] = [];
    for (const row of rows) {
      for (const [key, value] of refValues(ref, results.get(ref.path.join('/')))) {
        let r: Row | undefined = row;
        if (ref.key && 'var' in ref.key) r = unify(r, { kind: 'var', name: ref.key.var }, key, input);
        if (r) r = unify(r, other, value, input);
        if (r) next.push(r);
      }
    }
    rows = next;
  }
  return rows;
}

function sortRows(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1));
}

/** Visible rows against the case's expectation. */
export function compare(c: ConformanceCase, rows: Row[]): CaseOutcome {
  if (c.want_defined !== undefined) {
    const defined = rows.length > 0;
    return defined === c.want_defined ? { status: 'pass' } : { status: 'fail', stage: 'compare', reason: `want defined=${c.want_defined}, got ${defined}` };
  }
  const want = c.want_result ?? [];
  // As OPA's harness does: with sort_bindings, each binding's array value is sorted (the expectation is written sorted).
  const got = c.sort_bindings ? rows.map(sortBindingValues) : rows;
  const equal = rows.length <= 1 && !c.sort_bindings ? isDeepStrictEqual(got, want) : isDeepStrictEqual(sortRows(got), sortRows(want));
  return equal ? { status: 'pass' } : { status: 'fail', stage: 'compare', reason: `want ${clip(JSON.stringify(want))}, got ${clip(JSON.stringify(got))}` };
}

function show(results: Map<string, unknown>): string {
  return clip(JSON.stringify(Object.fromEntries(results)));
}

function clip(s: string): string {
  return s.length > 300 ? s.slice(0, 300) + '…' : s;
}
