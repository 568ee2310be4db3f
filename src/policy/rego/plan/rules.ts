/**
 * Planning of one rule set (all definitions of one document or function)
 * into an IR function `(input, data, args…) → value`.
 *
 * - complete rules: each definition (with its `else` chain) assigns a local
 *   once, then the function's result once: two different values are an
 *   `eval_conflict_error` raised by `AssignVarOnceStmt`; `default` fills in
 *   when nothing else did;
 * - `contains` rules add to a set; object rules insert once per key;
 * - functions do as complete rules, after unifying the arguments.
 */
import type { Func, Local, Operand } from '../ir.ts';
import { FuncBuilder, local } from './builder.ts';
import { planBody } from './body.ts';
import type { FnCtx, Mocks, PolicyContext } from './context.ts';
import type { IndexedRule, RuleSet } from './rule-index.ts';
import { planTerm, planTerms } from './terms.ts';
import { isPattern, unifyLocal } from './unify.ts';
import { forEachVar } from './vars.ts';
import { isLocal } from './safety.ts';
import type { Rule, Term } from '../ast.ts';

const RESULT: Local = 2;

/** One function to plan: a rule set under a set of mocks, with its name and its name's prefix. */
export interface RuleSetJob {
  set: RuleSet;
  mocks: Mocks;
  name: string;
  prefix: string;
}

export function planRuleSet(policy: PolicyContext, job: RuleSetJob): Func {
  const { set, mocks, name, prefix } = job;
  const params: Local[] = [0, 1];
  for (let i = 0; i < set.arity; i++) params.push(3 + i);
  const b = new FuncBuilder(policy.tables, 3 + set.arity);
  const ctx: FnCtx = { b, policy, mocks, vars: new Map(), memo: new Map(), generation: 0 };
  const blocks = [];
  const fresh = (): void => {
    ctx.vars = new Map();
  };
  if (set.kind === 'set' || set.kind === 'object') {
    blocks.push(b.block(() => b.emit(set.kind === 'set' ? 'MakeSetStmt' : 'MakeObjectStmt', { target: RESULT })));
    for (const r of set.rules) {
      fresh();
      blocks.push(b.block(() => planBody(ctx, r.rule.body, () => addToCollection(ctx, set, r))));
    }
  } else {
    for (const r of set.rules) {
      fresh();
      blocks.push(b.block(() => planCompleteChain(ctx, r.rule, params.slice(2))));
    }
    const d = set.defaultRule;
    if (d) {
      fresh();
      blocks.push(
        b.block(() => {
          b.emit('IsUndefinedStmt', { source: RESULT });
          bindArgs(ctx, d.rule, params.slice(2), () =>
            planTerm(ctx, d.rule.head.value as Term, (op) => b.emit('AssignVarOnceStmt', { source: op, target: RESULT })),
          );
        }),
      );
    }
  }
  blocks.push(b.block(() => b.emit('ReturnLocalStmt', { source: RESULT })));
  return { name, params, return: RESULT, blocks, path: [prefix, ...set.path] };
}

function addToCollection(ctx: FnCtx, set: RuleSet, r: IndexedRule): void {
  const b = ctx.b;
  const head = r.rule.head;
  if (set.kind === 'set') {
    planTerm(ctx, head.key as Term, (op) => b.emit('SetAddStmt', { value: op, set: RESULT }));
    return;
  }
  const keys = r.keys ?? [];
  const contains = r.rule.kind === 'multi';
  planTerms(ctx, [...keys, (contains ? head.key : head.value) as Term], (ops) => {
    const value = ops[ops.length - 1] as Operand;
    let obj = RESULT;
    for (let i = 0; i < keys.length - 1; i++) obj = objectAt(ctx, obj, ops[i] as Operand);
    const last = ops[keys.length - 1] as Operand;
    if (contains) b.emit('SetAddStmt', { value, set: objectAt(ctx, obj, last, 'MakeSetStmt') });
    else b.emit('ObjectInsertOnceStmt', { key: last, value, object: obj });
  });
}

/** The object under `key` in `obj`, inserted empty when missing (ref heads with several variables). */
function objectAt(ctx: FnCtx, obj: Local, key: Operand, make: 'MakeObjectStmt' | 'MakeSetStmt' = 'MakeObjectStmt'): Local {
  const b = ctx.b;
  const t = b.newLocal();
  b.emit('ResetLocalStmt', { target: t });
  b.nested(() => {
    const found = b.newLocal();
    b.emit('DotStmt', { source: local(obj), key, target: found });
    b.emit('AssignVarStmt', { source: local(found), target: t });
  });
  b.nested(() => {
    b.emit('IsUndefinedStmt', { source: t });
    const fresh = b.newLocal();
    b.emit(make, { target: fresh });
    b.emit('ObjectInsertStmt', { key, value: local(fresh), object: obj });
    b.emit('AssignVarStmt', { source: local(fresh), target: t });
  });
  return t;
}

/** A complete rule (or function definition) and its `else` chain. */
function planCompleteChain(ctx: FnCtx, rule: Rule, args: Local[]): void {
  const b = ctx.b;
  const value = b.newLocal();
  const links: Rule[] = [];
  for (let r: Rule | undefined = rule; r; r = r.else) links.push(r);
  const blocks = links.map((r, i) =>
    b.block(() => {
      ctx.vars = new Map();
      if (i === 0) b.emit('ResetLocalStmt', { target: value });
      else b.emit('IsUndefinedStmt', { source: value });
      argsAndBody(ctx, r, args, () =>
        planTerm(ctx, r.head.value as Term, (op) => b.emit('AssignVarOnceStmt', { source: op, target: value })),
      );
    }),
  );
  blocks.push(
    b.block(() => {
      b.emit('IsDefinedStmt', { source: value });
      b.emit('AssignVarOnceStmt', { source: local(value), target: RESULT });
    }),
  );
  b.emit('BlockStmt', { blocks });
}

function bindArgs(ctx: FnCtx, rule: Rule, args: Local[], cont: () => void): void {
  const terms = rule.head.args ?? [];
  const step = (i: number): void => {
    if (i === terms.length) return cont();
    unifyLocal(ctx, terms[i] as Term, args[i] as Local, () => step(i + 1));
  };
  step(0);
}

/**
 * Binds the arguments, plans the body, then compares the arguments that
 * read variables only the body binds (`f($"{x}") if x = …`).
 */
function argsAndBody(ctx: FnCtx, rule: Rule, args: Local[], cont: () => void): void {
  const terms = rule.head.args ?? [];
  const later: number[] = [];
  const late = (j: number): void => {
    if (j === later.length) return cont();
    const i = later[j] as number;
    unifyLocal(ctx, terms[i] as Term, args[i] as Local, () => late(j + 1));
  };
  const step = (i: number): void => {
    if (i === terms.length) return planBody(ctx, rule.body, () => late(0));
    const t = terms[i] as Term;
    let unbound = false;
    forEachVar(t, (n) => {
      if (isLocal(n) && !ctx.vars.has(n)) unbound = true;
    });
    if (unbound && !isPattern(ctx, t)) {
      later.push(i);
      return step(i + 1);
    }
    unifyLocal(ctx, t, args[i] as Local, () => step(i + 1));
  };
  step(0);
}
