/**
 * Planning of bodies and expressions. A body is a conjunction: each
 * expression is planned with the rest of the body as its continuation, so
 * that a failing statement leaves the enclosing block and iteration nests.
 */
import type { Body, Expr, RefTerm, Term } from '../ast.ts';
import { operatorName } from '../ast.ts';
import type { Operand } from '../ir.ts';
import { bool, local } from './builder.ts';
import { scoped, type FnCtx } from './context.ts';
import { isRelation, planCall, planTerm, planTerms } from './terms.ts';
import { unify, unifyLocal } from './unify.ts';
import { planWith } from './with.ts';
import { hoistCalls, hoistNegated, type Hoisted } from './hoist.ts';
import { isLocal } from './safety.ts';

type Cont = () => void;

/** Builtins that produce many outputs (OPA's relations), returned as one collection. */

export function planBody(ctx: FnCtx, body: Body, cont: Cont, i = 0): void {
  if (i === body.length) return cont();
  planExprInner(ctx, body[i] as Expr, () => planBody(ctx, body, cont, i + 1));
}

/** One expression, with its `with` modifiers and negation. */
export function planExprInner(ctx: FnCtx, e: Expr, cont: Cont): void {
  if (e.with.length > 0) return planWith(ctx, e, (c) => planNegatable(ctx, e, c), cont);
  planNegatable(ctx, e, cont);
}

function planNegatable(ctx: FnCtx, e: Expr, cont: Cont): void {
  const fresh = (): string => `$hoist${ctx.policy.nextSlot()}`;
  if (!e.negated) {
    // As in OPA, nested calls whose arguments are bound run first, once (hoist.ts).
    const { hoisted, expr } = hoistCalls(e, fresh, (n) => ctx.vars.has(n) || !isLocal(n));
    return planHoisted(ctx, hoisted, 0, () => planCore(ctx, expr, cont));
  }
  // As in OPA, nested calls and dynamic arguments are evaluated before the `not` (hoist.ts),
  // unless the module imports future.keywords.not: then the whole expression is negated.
  const { hoisted, expr } = e.negationInside ? { hoisted: [], expr: e } : hoistNegated(e, fresh);
  planHoisted(ctx, hoisted, 0, () => {
    const block = ctx.b.block(() => scoped(ctx, () => planCore(ctx, expr, () => {})));
    ctx.b.emit('NotStmt', { block });
    cont();
  });
}

function planHoisted(ctx: FnCtx, hoisted: Hoisted[], i: number, cont: Cont): void {
  const h = hoisted[i];
  if (!h) return cont();
  planTerm(ctx, h.term, (op) => {
    ctx.vars.set(h.name, ctx.b.toLocal(op));
    planHoisted(ctx, hoisted, i + 1, cont);
  });
}

function planCore(ctx: FnCtx, e: Expr, cont: Cont): void {
  switch (e.type) {
    case 'term':
      return planTerm(ctx, e.term, (op) => {
        truthy(ctx, op);
        cont();
      });
    case 'call':
      return planCallExpr(ctx, e.operator, e.args, cont);
    case 'some':
      return cont();
    case 'somein':
      return planTerm(ctx, e.collection, (op) => {
        const b = ctx.b;
        const src = b.toLocal(op);
        const k = b.newLocal();
        const v = b.newLocal();
        const block = b.block(() =>
          scoped(ctx, () => {
            const withValue = (): void => unifyLocal(ctx, e.value, v, cont);
            if (e.key) unifyLocal(ctx, e.key, k, withValue);
            else withValue();
          }),
        );
        b.emit('ScanStmt', { source: src, key: k, value: v, block });
      });
    case 'every':
      return planEvery(ctx, e, cont);
  }
}

/** An expression's value counts as true unless it is `false`. */
function truthy(ctx: FnCtx, op: Operand): void {
  if (op.type === 'bool' && op.value) return;
  ctx.b.emit('NotEqualStmt', { a: op, b: bool(false) });
}

function planCallExpr(ctx: FnCtx, op: RefTerm, args: Term[], cont: Cont): void {
  const name = operatorName(op) ?? '';
  if (planSpecialForm(ctx, name, args, cont)) return;
  const arity = arityOf(ctx, name);
  if (arity !== undefined && args.length === arity + 1) {
    return planCallWithOutput(ctx, op, { inputs: args.slice(0, arity), out: args[arity]! }, cont);
  }
  // planTerm makes a relation (walk) yield each output: the expression holds once per output, as in OPA.
  planTerm(ctx, { type: 'call', loc: op.loc, operator: op, args }, (r) => {
    truthy(ctx, r);
    cont();
  });
}

/** Calls planned as statements of their own rather than called: `=`, `:=`, `print` and `==`. True when `name` was one. */
function planSpecialForm(ctx: FnCtx, name: string, args: Term[], cont: Cont): boolean {
  if ((name === 'eq' || name === 'assign') && args.length === 2) {
    unify(ctx, args[0]!, args[1]!, cont);
    return true;
  }
  // A function that replaces a builtin (`with print as f`) is called like any other.
  if (ctx.mocks.funcs.has(name)) return false;
  // `print` only writes to a debugging output that compiled policies do not have; it never fails.
  if (name === 'print') {
    cont();
    return true;
  }
  if (name !== 'equal' || args.length !== 2) return false;
  planTerms(ctx, args, ([x, y]) => {
    ctx.b.emit('EqualStmt', { a: x as Operand, b: y as Operand });
    cont();
  });
  return true;
}

/** `f(x, out)`: the call's result unifies with the output term `out`. */
function planCallWithOutput(ctx: FnCtx, op: RefTerm, call: { inputs: Term[]; out: Term }, cont: Cont): void {
  const b = ctx.b;
  const { inputs, out } = call;
  if (!isRelation(ctx, op)) return planCall(ctx, op, inputs, (r) => unifyLocal(ctx, out, b.toLocal(r), cont));
  // A relation returns all its outputs at once: each one binds the output term in turn.
  planCall(ctx, op, inputs, (r) => {
    const k = b.newLocal();
    const v = b.newLocal();
    const block = b.block(() => scoped(ctx, () => unifyLocal(ctx, out, v, cont)));
    b.emit('ScanStmt', { source: b.toLocal(r), key: k, value: v, block });
  });
}

function arityOf(ctx: FnCtx, name: string): number | undefined {
  if (name.startsWith('data.')) {
    const set = ctx.policy.index.byPath.get(name.split('.').slice(1).join('\u0000'));
    return set?.kind === 'function' ? set.arity : undefined;
  }
  return ctx.policy.builtinArity(name);
}

/**
 * `every k, v in xs { body }`: true when the domain is a collection and no
 * element makes the body fail.
 */
function planEvery(ctx: FnCtx, e: Extract<Expr, { type: 'every' }>, cont: Cont): void {
  planTerm(ctx, e.domain, (op) => {
    const b = ctx.b;
    const d = b.toLocal(op);
    const failed = b.newLocal();
    b.emit('ResetLocalStmt', { target: failed });
    const check = (type: 'IsArrayStmt' | 'IsObjectStmt' | 'IsSetStmt') =>
      b.block(() => {
        b.emit(type, { source: local(d) });
        b.emit('BreakStmt', { index: 1 });
      });
    b.nested(() => {
      b.emit('BlockStmt', { blocks: [check('IsArrayStmt'), check('IsObjectStmt'), check('IsSetStmt')] });
      b.emit('BreakStmt', { index: 1 });
    });
    const k = b.newLocal();
    const v = b.newLocal();
    const block = b.block(() =>
      scoped(ctx, () => {
        if (e.key) ctx.vars.set(e.key.name, k);
        ctx.vars.set(e.value.name, v);
        const ok = b.newLocal();
        b.emit('ResetLocalStmt', { target: ok });
        b.nested(() => scoped(ctx, () => planBody(ctx, e.body, () => b.emit('AssignVarStmt', { source: bool(true), target: ok }))));
        b.emit('IsUndefinedStmt', { source: ok });
        b.emit('AssignVarStmt', { source: bool(true), target: failed });
      }),
    );
    b.emit('ScanStmt', { source: d, key: k, value: v, block });
    b.emit('IsUndefinedStmt', { source: failed });
    cont();
  });
}
