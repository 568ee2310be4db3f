/**
 * State shared while planning: the policy-wide planner (rule index, string
 * table, the functions planned so far and those still to plan) and, per
 * function, the statement builder and the variables bound at the current
 * point of the plan.
 */
import type { RefTerm, Term } from '../ast.ts';
import type { Local } from '../ir.ts';
import type { FuncBuilder, StaticTables } from './builder.ts';
import type { RuleIndex, RuleSet } from './rule-index.ts';
import { pathKey } from './rule-index.ts';
import type { LocalNames } from './scope.ts';

/** A `with` replacement of a function or builtin. */
export type FuncMock =
  | { kind: 'func'; op: RefTerm }
  | { kind: 'value'; term: Term }
  /** A value computed where the `with` is, kept in the data local under `key` so callees can read it. */
  | { kind: 'data'; key: string };

/**
 * What `with` modifiers in force replace. Data paths under `data` are
 * upserted into the data local by `WithStmt`, so rules below them are read
 * from there instead of being called; functions are replaced at planning.
 */
export interface Mocks {
  key: string;
  dataPaths: string[][];
  funcs: Map<string, FuncMock>;
}

export const NO_MOCKS: Mocks = { key: '', dataPaths: [], funcs: new Map() };

export interface PolicyContext {
  tables: StaticTables;
  index: RuleIndex;
  names: LocalNames;
  builtinArity(name: string): number | undefined;
  /** The IR name of the function planning `set` under `mocks`, planned later if new. */
  funcFor(set: RuleSet, mocks: Mocks): string;
  /** A number unique in the policy (for names the planner makes up). */
  nextSlot(): number;
}

export interface FnCtx {
  b: FuncBuilder;
  policy: PolicyContext;
  mocks: Mocks;
  /** Variables bound at this point of the plan → their local. */
  vars: Map<string, Local>;
  /**
   * Rule values already computed in this function call: rule function name
   * and `generation` → the locals holding the value and a "computed" flag.
   * A `with` starts a new generation: its documents differ.
   */
  memo: Map<string, { value: Local; done: Local }>;
  generation: number;
}

export const INPUT: Local = 0;
export const DATA: Local = 1;

/** Runs `f` and restores the variable bindings afterwards (for code planned more than once). */
export function scoped(ctx: FnCtx, f: () => void): void {
  const saved = new Map(ctx.vars);
  try {
    f();
  } finally {
    ctx.vars = saved;
  }
}

export function mocksKey(dataPaths: string[][], funcs: Map<string, FuncMock>): string {
  const d = dataPaths.map((p) => 'd:' + p.join('.')).sort();
  const f = [...funcs.entries()].map(([k, v]) => `f:${k}=${JSON.stringify(v.kind === 'func' ? v.op : v.kind === 'value' ? v.term : v.key, stripLoc)}`).sort();
  return [...d, ...f].join('|');
}

function stripLoc(k: string, v: unknown): unknown {
  return k === 'loc' ? undefined : v;
}

/** The mocks in force inside a replacement function: only the documents, as OPA does. */
export function withoutFuncMocks(m: Mocks): Mocks {
  if (m.funcs.size === 0) return m;
  return { key: mocksKey(m.dataPaths, new Map()), dataPaths: m.dataPaths, funcs: new Map() };
}

export function isMockedData(mocks: Mocks, path: string[]): boolean {
  return mocks.dataPaths.some((p) => p.length <= path.length && p.every((k, i) => k === path[i]));
}

/** True when some mocked data path lies strictly below `path`. */
export function hasMockBelow(mocks: Mocks, path: string[]): boolean {
  return mocks.dataPaths.some((p) => p.length > path.length && path.every((k, i) => k === p[i]));
}

export function funcKey(set: RuleSet, mocks: Mocks): string {
  return mocks.key + '#' + pathKey(set.path);
}
