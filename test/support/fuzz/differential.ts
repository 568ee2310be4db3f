/**
 * One generated case on both sides: Portcullis (its compiler, the module
 * evaluated by opa-wasm in our engine) and the real `opa eval`, each asked
 * for the whole package document on each input. OPA's defaults apply on
 * both sides (a failing builtin is undefined). Both refusing to compile, or
 * both failing to evaluate, is agreement; anything else that differs is a
 * difference, which `shrink` reduces to a small reproduction while the same
 * kind of difference remains.
 *
 * OPA's two evaluators do not always agree with each other: `opa eval`'s
 * rule index skips a body whose indexed condition fails before an error
 * earlier in that body is raised, and its `ceil`/`floor` are wrong between
 * -1 and 0. So a difference is also checked against the module OPA itself
 * compiles (`opa build -t wasm`, run in our engine): when that one answers
 * as Portcullis does, the difference is OPA's own, not ours.
 */
import { isDeepStrictEqual } from 'node:util';
import { OpaCliCompiler, PortcullisCompiler } from '../../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../../src/policy/engine.ts';
import type { PolicyCompiler } from '../../../src/policy/types.ts';
import type { OpaEvaluator } from '../opa-eval.ts';
import { oneSmaller, render, type Node } from './tree.ts';
import { smallerJson } from './inputs.ts';
import { PACKAGE } from './policy.ts';

export interface Case {
  module: Node;
  data: Record<string, unknown>;
  input: unknown;
}

export type Outcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'compile-error'; code: string; message: string }
  | { kind: 'eval-error'; code: string; message: string };

/** The real OPA, twice: `opa eval`, and `opa build -t wasm` for a second opinion. */
export interface Opa {
  eval: OpaEvaluator;
  build: OpaCliCompiler;
}

/** A module compiled and loaded in our engine, or why it is not. */
export type Loaded = { engine: OpaWasmEngine } | { refused: Outcome };

export async function load(compiler: PolicyCompiler, source: string, data: Record<string, unknown>): Promise<Loaded> {
  try {
    const bundle = await compiler.compile({ modules: [{ path: `${PACKAGE}.rego`, source }], data, entrypoints: [PACKAGE], tools: [], tests: [] });
    const engine = new OpaWasmEngine({ strictBuiltinErrors: false });
    await engine.load(bundle);
    return { engine };
  } catch (e) {
    return { refused: { kind: 'compile-error', ...codeAndMessage(e) } };
  }
}

export function compileOurs(source: string, data: Record<string, unknown>): Promise<Loaded> {
  return load(new PortcullisCompiler(), source, data);
}

export function evaluate(loaded: Loaded, input: unknown): Outcome {
  if ('refused' in loaded) return loaded.refused;
  try {
    return { kind: 'value', value: plain(loaded.engine.evaluate(input, PACKAGE).result) };
  } catch (e) {
    return { kind: 'eval-error', ...codeAndMessage(e) };
  }
}

export async function evaluateOpa(opa: OpaEvaluator, source: string, data: Record<string, unknown>, input: unknown): Promise<Outcome> {
  const answer = await opa.eval({ query: `data.${PACKAGE}`, modules: [source], data, input });
  if (answer.kind === 'error') return { kind: answer.stage === 'compile' ? 'compile-error' : 'eval-error', code: answer.code, message: answer.message };
  return { kind: 'value', value: plain(answer.results[0]?.expressions[0]?.value) };
}

/** Undefined when the outcomes agree; otherwise what kind of difference it is. */
export function difference(ours: Outcome, opa: Outcome): string | undefined {
  if (ours.kind !== opa.kind) return `${ours.kind}${ours.kind === 'value' ? '' : ` ${ours.code}`} vs opa ${opa.kind}${opa.kind === 'value' ? '' : ` ${opa.code}`}`;
  if (ours.kind === 'value' && opa.kind === 'value' && !isDeepStrictEqual(ours.value, opa.value)) return 'different values';
  return undefined;
}

/** The same answer, error codes included: both modules ran in our engine, so their codes compare. */
function same(a: Outcome, b: Outcome): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'value' && b.kind === 'value') return isDeepStrictEqual(a.value, b.value);
  return a.kind === 'compile-error' || (a as { code: string }).code === (b as { code: string }).code;
}

export interface Verdict {
  ours: Outcome;
  opa: Outcome;
  /** What OPA's own wasm answered, asked only when the first two differ. */
  opaWasm?: Outcome;
  /** The kind of difference, when Portcullis differs from `opa eval` and from OPA's wasm. */
  difference?: string;
  /** Set when Portcullis differs from `opa eval` but answers as OPA's wasm does. */
  opaEvaluatorsDiffer?: string;
}

export async function judge(opa: Opa, c: Case): Promise<Verdict> {
  const source = render(c.module);
  const ours = evaluate(await compileOurs(source, c.data), c.input);
  return judgeAnswer(opa, c, ours, await evaluateOpa(opa.eval, source, c.data, c.input));
}

/** Portcullis's and `opa eval`'s answers, with OPA's wasm asked when they differ. */
export async function judgeAnswer(opa: Opa, c: Case, ours: Outcome, byEval: Outcome): Promise<Verdict> {
  const kind = difference(ours, byEval);
  if (kind === undefined) return { ours, opa: byEval };
  const opaWasm = evaluate(await load(opa.build, render(c.module), c.data), c.input);
  if (same(ours, opaWasm)) return { ours, opa: byEval, opaWasm, opaEvaluatorsDiffer: kind };
  return { ours, opa: byEval, opaWasm, difference: kind };
}

/**
 * The smallest case found, one replacement at a time (a rule or literal
 * dropped, a term made plainer, an input key removed), that still shows a
 * difference of the same kind. Stops at `deadline` with the best so far.
 */
export async function shrink(opa: Opa, c: Case, kind: string, deadline: number): Promise<{ shrunk: Case; verdict: Verdict; steps: number }> {
  let best = c;
  let verdict = await judge(opa, c);
  let steps = 0;
  const tried = new Set<string>();
  const candidates = function* (from: Case): Generator<Case> {
    for (const module of oneSmaller(from.module)) yield { ...from, module };
    for (const input of smallerJson(from.input)) yield { ...from, input };
    for (const data of smallerJson(from.data)) yield { ...from, data: (data ?? {}) as Record<string, unknown> };
  };
  let improved = true;
  while (improved && Date.now() < deadline) {
    improved = false;
    for (const candidate of candidates(best)) {
      if (Date.now() >= deadline) break;
      const key = JSON.stringify([render(candidate.module), candidate.data, candidate.input]);
      if (tried.has(key)) continue;
      tried.add(key);
      const v = await judge(opa, candidate);
      if (v.difference !== kind) continue;
      [best, verdict, improved] = [candidate, v, true];
      steps++;
      break;
    }
  }
  return { shrunk: best, verdict, steps };
}

/** A reproduction a reader can paste: the three files and the answers. */
export function describeDifference(c: Case, v: Verdict, origin: string): string {
  const show = (o: Outcome | undefined): string => (o === undefined ? '(not asked)' : o.kind === 'value' ? JSON.stringify(o.value) : `${o.kind} ${o.code}: ${o.message}`);
  return [
    `Portcullis and opa eval differ (${v.difference ?? v.opaEvaluatorsDiffer}); ${origin}`,
    `--- ${PACKAGE}.rego`,
    render(c.module).trimEnd(),
    '--- data.json',
    JSON.stringify(c.data),
    '--- input.json',
    JSON.stringify(c.input),
    `--- opa eval -d ${PACKAGE}.rego -d data.json -i input.json data.${PACKAGE}`,
    show(v.opa),
    `--- opa build -t wasm -e ${PACKAGE}, evaluated by opa-wasm`,
    show(v.opaWasm),
    '--- Portcullis (compiled by PortcullisCompiler, evaluated by opa-wasm)',
    show(v.ours),
  ].join('\n');
}

/** JSON's view of a value: what both sides can express (no -0, no undefined members). */
function plain(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

function codeAndMessage(e: unknown): { code: string; message: string } {
  const code = (e as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'error', message: e instanceof Error ? e.message : String(e) };
}
