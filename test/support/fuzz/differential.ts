/**
 * One generated case on both sides: Portcullis (its compiler, the module
 * evaluated by opa-wasm in our engine) and the real `opa eval`, each asked
 * for the whole package document on each input. OPA's defaults apply on
 * both sides (a failing builtin is undefined). Both refusing to compile, or
 * both failing to evaluate, is agreement; anything else that differs is a
 * difference, which `shrink` reduces to a small reproduction while the same
 * kind of difference remains.
 *
 * OPA does not always agree with itself: `opa eval`'s rule index skips a
 * body whose indexed condition fails before an error earlier in that body
 * is raised (a conflicting function call, say), and its `ceil`/`floor` are
 * wrong between -1 and 0 where the wasm OPA builds is right. So a difference
 * gets two second opinions: `opa eval --disable-indexing
 * --disable-early-exit`, and the module OPA itself compiles (`opa build -t
 * wasm`, run in our engine). When either answers as Portcullis does, the
 * difference is OPA's own, not ours.
 */
import { isDeepStrictEqual } from 'node:util';
import { OpaCliCompiler, PortcullisCompiler, parseRego } from '../../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../../src/policy/engine.ts';
import type { CompiledBundle } from '../../../src/policy/types.ts';
import type { OpaEvaluator } from '../opa-eval.ts';
import { oneSmaller, render, type Node } from './tree.ts';
import { smallerJson } from './inputs.ts';
import { PACKAGE } from './policy.ts';
import { codeAndMessage, evaluateDocument, plain, type Outcome } from './outcome.ts';
import type { SandboxedWasm } from './sandboxed-wasm.ts';

export interface Case {
  module: Node;
  data: Record<string, unknown>;
  input: unknown;
}

export type { Outcome } from './outcome.ts';

/** The real OPA: `opa eval`, and for a second opinion `opa build -t wasm` with a sandbox to run its modules in. */
export interface Opa {
  eval: OpaEvaluator;
  build: OpaCliCompiler;
  wasm: SandboxedWasm;
}

/** A module compiled by Portcullis and loaded in our engine, or why it is not. */
export type Loaded = { engine: OpaWasmEngine } | { refused: Outcome };

export async function compileOurs(source: string, data: Record<string, unknown>): Promise<Loaded> {
  try {
    const bundle = await new PortcullisCompiler().compile({ modules: [{ path: `${PACKAGE}.rego`, source }], data, entrypoints: [PACKAGE], tools: [], tests: [] });
    const engine = new OpaWasmEngine({ strictBuiltinErrors: false });
    await engine.load(bundle);
    return { engine };
  } catch (e) {
    return { refused: { kind: 'compile-error', ...codeAndMessage(e) } };
  }
}

export function evaluate(loaded: Loaded, input: unknown): Outcome {
  return 'refused' in loaded ? loaded.refused : evaluateDocument(loaded.engine, undefined, input);
}

/** The case as OPA compiles it to wasm (an entrypoint per rule that is not a function), run in the sandbox. */
async function evaluateOpaWasm(opa: Opa, c: Case): Promise<Outcome> {
  const source = render(c.module);
  let rules: string[];
  try {
    rules = [...new Set(parseRego(source, `${PACKAGE}.rego`).rules.filter((r) => r.head.args === undefined).map((r) => r.head.name))];
  } catch (e) {
    return { kind: 'compile-error', ...codeAndMessage(e) };
  }
  let bundle: CompiledBundle;
  try {
    bundle = await opa.build.compile({ modules: [{ path: `${PACKAGE}.rego`, source }], data: c.data, entrypoints: rules.map((r) => `${PACKAGE}/${r}`), tools: [], tests: [] });
  } catch (e) {
    return { kind: 'compile-error', ...codeAndMessage(e) };
  }
  return opa.wasm.evaluate(bundle, rules, c.input);
}

export async function evaluateOpa(opa: OpaEvaluator, source: string, data: Record<string, unknown>, input: unknown, unoptimized = false): Promise<Outcome> {
  const answer = await opa.eval({ query: `data.${PACKAGE}`, modules: [source], data, input, unoptimized });
  if (answer.kind === 'error') return { kind: answer.stage === 'compile' ? 'compile-error' : 'eval-error', code: answer.code, message: answer.message };
  return { kind: 'value', value: plain(answer.results[0]?.expressions[0]?.value) };
}

/** Undefined when the outcomes agree; otherwise what kind of difference it is. */
export function difference(ours: Outcome, opa: Outcome): string | undefined {
  if (ours.kind !== opa.kind) return `${ours.kind}${ours.kind === 'value' ? '' : ` ${ours.code}`} vs opa ${opa.kind}${opa.kind === 'value' ? '' : ` ${opa.code}`}`;
  if (ours.kind === 'value' && opa.kind === 'value' && !isDeepStrictEqual(ours.value, opa.value)) return 'different values';
  return undefined;
}

/** The same answer; evaluation errors of the same sort (a conflict, or any other). */
function same(a: Outcome, b: Outcome): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'value' && b.kind === 'value') return isDeepStrictEqual(a.value, b.value);
  const conflict = (o: Outcome): boolean => o.kind === 'eval-error' && /conflict/i.test(o.code);
  return conflict(a) === conflict(b);
}

export interface Verdict {
  ours: Outcome;
  opa: Outcome;
  /** The second opinions, asked only when the first two differ: `opa eval` without its optimisations, OPA's own wasm. */
  opaUnoptimized?: Outcome;
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
  const source = render(c.module);
  const opaUnoptimized = await evaluateOpa(opa.eval, source, c.data, c.input, true);
  if (same(ours, opaUnoptimized)) return { ours, opa: byEval, opaUnoptimized, opaEvaluatorsDiffer: `${kind} (opa eval's indexing or early exit)` };
  const opaWasm = await evaluateOpaWasm(opa, c);
  if (same(ours, opaWasm)) return { ours, opa: byEval, opaUnoptimized, opaWasm, opaEvaluatorsDiffer: `${kind} (OPA's wasm agrees with Portcullis)` };
  return { ours, opa: byEval, opaUnoptimized, opaWasm, difference: kind };
}

/**
 * What a shrinking step must keep: the kind of difference, and what OPA's
 * wasm made of the case, so that a step cannot trade the difference for
 * one `opa build` refuses to build.
 */
function signature(v: Verdict): string | undefined {
  return v.difference && `${v.difference}; unoptimized: ${v.opaUnoptimized?.kind}; opa wasm: ${v.opaWasm?.kind}`;
}

/**
 * The smallest case found, one replacement at a time (a rule or literal
 * dropped, a term made plainer, an input key removed), that still shows the
 * same difference. Stops at `deadline` with the best so far.
 */
export async function shrink(opa: Opa, c: Case, deadline: number): Promise<{ shrunk: Case; verdict: Verdict; steps: number }> {
  let best = c;
  let verdict = await judge(opa, c);
  const kind = signature(verdict);
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
      if (signature(v) !== kind) continue;
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
    '--- the same with --disable-indexing --disable-early-exit',
    show(v.opaUnoptimized),
    '--- opa build -t wasm (an entrypoint per rule), evaluated by opa-wasm',
    show(v.opaWasm),
    '--- Portcullis (compiled by PortcullisCompiler, evaluated by opa-wasm)',
    show(v.ours),
  ].join('\n');
}
