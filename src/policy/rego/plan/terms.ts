/**
 * Planning of terms into operands. Planning is in continuation-passing
 * style: a term that iterates (a ref with an unbound variable in it) plans
 * the rest of the body inside its `ScanStmt`, once per way it can be bound.
 */
import type { Expr, RefTerm, Term } from '../ast.ts';
import { isGround, operatorName } from '../ast.ts';
import type { Local, Operand } from '../ir.ts';
import { local } from './builder.ts';
import { planBody, planExprInner } from './body.ts';
import { DATA, INPUT, scoped, withoutFuncMocks, type FnCtx, type FuncMock, type Mocks } from './context.ts';
import { compileError, unsupportedBuiltin } from './errors.ts';
import { planRef } from './refs.ts';
import { planWith } from './with.ts';
import { BUILTIN_REF } from './resolve.ts';
import { pathKey } from './rule-index.ts';
import { forEachRefInTerm } from './nested.ts';
import { forEachVar } from './vars.ts';

export type OpCont = (op: Operand) => void;

export function planTerm(ctx: FnCtx, t: Term, cont: OpCont): void {
  // Literals and bound variables never iterate: planned without a continuation, so a large literal costs no stack.
  if (isDirect(ctx, t)) return cont(planDirect(ctx, t));
  const plan = TERM_PLANNERS[t.type] as TermPlanner<Term> | undefined;
  if (plan === undefined) return cont(planDirect(ctx, t));
  plan(ctx, t, cont);
}

type TermPlanner<T extends Term> = (ctx: FnCtx, t: T, cont: OpCont) => void;

/** How each kind of term that may iterate is planned (scalars are always direct). */
const TERM_PLANNERS: { [K in Term['type']]?: TermPlanner<Extract<Term, { type: K }>> } = {
  var: (ctx, t) => {
    throw compileError('rego_unsafe_var_error', `var ${ctx.policy.names.display(t.name)} is unsafe`, t.loc);
  },
  ref: planRef,
  array: (ctx, t, cont) => planTerms(ctx, t.items, (ops) => cont(local(emitCollection(ctx, t.type, ops)))),
  set: (ctx, t, cont) => planTerms(ctx, t.items, (ops) => cont(local(emitCollection(ctx, t.type, ops)))),
  object: (ctx, t, cont) =>
    planTerms(ctx, t.items.flat(), (ops) => {
      const pairs: Array<[Operand, Operand]> = [];
      for (let i = 0; i < ops.length; i += 2) pairs.push([ops[i] as Operand, ops[i + 1] as Operand]);
      cont(local(emitObject(ctx, pairs)));
    }),
  arraycomprehension: planComprehension,
  setcomprehension: planComprehension,
  objectcomprehension: planComprehension,
  call: (ctx, t, cont) => {
    if (!isRelation(ctx, t.operator)) return planCall(ctx, t.operator, t.args, cont);
    // A relation used as a value (`[p, v] := walk(x)`) takes each of its outputs in turn, as in OPA.
    const b = ctx.b;
    planCall(ctx, t.operator, t.args, (r) => {
      const k = b.newLocal();
      const v = b.newLocal();
      const block = b.block(() => scoped(ctx, () => cont(local(v))));
      b.emit('ScanStmt', { source: b.toLocal(r), key: k, value: v, block });
    });
  },
  templatestring: (ctx, t, cont) => planTemplate(ctx, t, cont),
};

/** A new array or set holding `ops`. */
function emitCollection(ctx: FnCtx, type: 'array' | 'set', ops: Operand[]): Local {
  const b = ctx.b;
  const l = b.newLocal();
  if (type === 'array') {
    b.emit('MakeArrayStmt', { capacity: ops.length, target: l });
    for (const op of ops) b.emit('ArrayAppendStmt', { value: op, array: l });
  } else {
    b.emit('MakeSetStmt', { target: l });
    for (const op of ops) b.emit('SetAddStmt', { value: op, set: l });
  }
  return l;
}

/** A new object holding the key-value pairs. */
function emitObject(ctx: FnCtx, pairs: ReadonlyArray<readonly [Operand, Operand]>): Local {
  const b = ctx.b;
  const l = b.newLocal();
  b.emit('MakeObjectStmt', { target: l });
  for (const [k, v] of pairs) b.emit('ObjectInsertStmt', { key: k, value: v, object: l });
  return l;
}

/** Plans terms left to right; `cont` receives their operands. */
export function planTerms(ctx: FnCtx, ts: Term[], cont: (ops: Operand[]) => void): void {
  // A term reading a variable that only another term's ref binds (`foo ==
  // input.foos[foo]`) is planned after the others, as OPA binds it by
  // iterating that ref first; the operands reach `cont` in source order.
  const later = ts.map((t) => readsUnbound(ctx, t));
  const order = [...ts.keys()].sort((a, b) => Number(later[a]) - Number(later[b]));
  const step = (k: number, ops: Operand[]): void => {
    const next = [...ops];
    // Terms that never iterate are planned in a loop, not by recursion.
    while (k < order.length && isDirect(ctx, ts[order[k] as number] as Term)) {
      const i = order[k++] as number;
      next[i] = planDirect(ctx, ts[i] as Term);
    }
    if (k === order.length) return cont(next);
    const i = order[k] as number;
    planTerm(ctx, ts[i] as Term, (op) => {
      next[i] = op;
      step(k + 1, next);
    });
  };
  step(0, new Array<Operand>(ts.length));
}

/** Builtins that return all their outputs at once (`walk`): a call yields each, unless a `with` replaced it. */
export function isRelation(ctx: FnCtx, op: RefTerm): boolean {
  let name = operatorName(op) ?? '';
  if (name.startsWith(BUILTIN_REF)) name = name.slice(BUILTIN_REF.length);
  return name === 'walk' && !ctx.mocks.funcs.has(name);
}

/** A literal (scalars, and arrays, sets and objects of literals) or a bound variable. */
function isDirect(ctx: FnCtx, t: Term): boolean {
  switch (t.type) {
    case 'null':
    case 'boolean':
    case 'number':
    case 'string':
      return true;
    case 'var':
      return ctx.vars.has(t.name);
    case 'array':
    case 'set':
      return t.items.every((i) => isDirect(ctx, i));
    case 'object':
      return t.items.every(([k, v]) => isDirect(ctx, k) && isDirect(ctx, v));
    default:
      return false;
  }
}

/** The operand of a term for which isDirect holds, as planTerm would plan it. */
function planDirect(ctx: FnCtx, t: Term): Operand {
  const plan = DIRECT_PLANNERS[t.type] as ((ctx: FnCtx, t: Term) => Operand) | undefined;
  if (plan === undefined) throw new Error(`planDirect: ${t.type} is not a direct term`);
  return plan(ctx, t);
}

const DIRECT_PLANNERS: { [K in Term['type']]?: (ctx: FnCtx, t: Extract<Term, { type: K }>) => Operand } = {
  null: (ctx) => {
    const l = ctx.b.newLocal();
    ctx.b.emit('MakeNullStmt', { target: l });
    return local(l);
  },
  boolean: (_ctx, t) => ({ type: 'bool', value: t.value }),
  number: (ctx, t) => {
    const l = ctx.b.newLocal();
    ctx.b.emit('MakeNumberRefStmt', { Index: ctx.b.tables.string(t.value), target: l });
    return local(l);
  },
  string: (ctx, t) => ctx.b.str(t.value),
  var: (ctx, t) => local(ctx.vars.get(t.name) as Local),
  array: (ctx, t) => local(emitCollection(ctx, t.type, t.items.map((i) => planDirect(ctx, i)))),
  set: (ctx, t) => local(emitCollection(ctx, t.type, t.items.map((i) => planDirect(ctx, i)))),
  object: (ctx, t) => local(emitObject(ctx, t.items.map(([k, v]) => [planDirect(ctx, k), planDirect(ctx, v)] as const))),
};

/** Whether the term reads a variable that is not bound yet and that no ref path of its own binds. */
function readsUnbound(ctx: FnCtx, t: Term): boolean {
  const own = new Set<string>();
  forEachRefInTerm(t, (r) => r.path.forEach((p) => forEachVar(p, (n) => own.add(n))));
  let found = false;
  forEachVar(t, (n) => {
    if (!found && !own.has(n) && n !== 'input' && n !== 'data' && !n.startsWith(BUILTIN_REF) && !ctx.vars.has(n)) found = true;
  });
  return found;
}

function planComprehension(
  ctx: FnCtx,
  t: Extract<Term, { type: 'arraycomprehension' | 'setcomprehension' | 'objectcomprehension' }>,
  cont: OpCont,
): void {
  const b = ctx.b;
  const l = b.newLocal();
  if (t.type === 'arraycomprehension') b.emit('MakeArrayStmt', { capacity: 0, target: l });
  else if (t.type === 'setcomprehension') b.emit('MakeSetStmt', { target: l });
  else b.emit('MakeObjectStmt', { target: l });
  b.nested(() =>
    scoped(ctx, () =>
      planBody(ctx, t.body, () => {
        if (t.type === 'arraycomprehension') planTerm(ctx, t.term, (op) => b.emit('ArrayAppendStmt', { value: op, array: l }));
        else if (t.type === 'setcomprehension') planTerm(ctx, t.term, (op) => b.emit('SetAddStmt', { value: op, set: l }));
        else
          planTerms(ctx, [t.key, t.value], ([k, v]) =>
            b.emit('ObjectInsertOnceStmt', { key: k as Operand, value: v as Operand, object: l }),
          );
      }),
    ),
  );
  cont(local(l));
}

/** Plans a call of a user function or builtin; `cont` receives the result. */
export function planCall(ctx: FnCtx, op: RefTerm, args: Term[], cont: OpCont): void {
  const name = operatorName(op);
  if (name === undefined) throw compileError('rego_type_error', 'invalid function name', op.loc);
  const mock = ctx.mocks.funcs.get(name);
  if (mock?.kind === 'value' || mock?.kind === 'data') return planMockedValue(ctx, mock, args, cont);
  const target = callTarget(ctx, name, mock);
  const call = { name: target.name, op, args };
  if (target.name.startsWith('data.')) return planFunctionCall(ctx, call, target.mocks, cont);
  planBuiltinCall(ctx, call, cont);
}

/** The name called and the mocks in force inside it: `with f as g` calls g, and the mocks of functions do not reach into it. */
function callTarget(ctx: FnCtx, name: string, mock: FuncMock | undefined): { name: string; mocks: Mocks } {
  const unprefixed = (n: string): string => (n.startsWith(BUILTIN_REF) ? n.slice(BUILTIN_REF.length) : n);
  if (mock?.kind !== 'func') return { name: unprefixed(name), mocks: ctx.mocks };
  return { name: unprefixed(operatorName(mock.op) ?? name), mocks: withoutFuncMocks(ctx.mocks) };
}

interface PlannedCall {
  /** The function's or builtin's name after mocks (`data.pkg.f`, `count`). */
  name: string;
  op: RefTerm;
  args: Term[];
}

/** `with f as 1`, `with f as data.x`: the arguments are still evaluated, then the value stands for the result. */
function planMockedValue(ctx: FnCtx, mock: Exclude<FuncMock, { kind: 'func' }>, args: Term[], cont: OpCont): void {
  if (mock.kind === 'value') return planTerms(ctx, args, () => planTerm(ctx, mock.term, cont));
  const b = ctx.b;
  planTerms(ctx, args, () => {
    const r = b.newLocal();
    b.emit('DotStmt', { source: local(DATA), key: b.str(mock.key), target: r });
    cont(local(r));
  });
}

function planFunctionCall(ctx: FnCtx, call: PlannedCall, mocks: Mocks, cont: OpCont): void {
  const { name, op, args } = call;
  const set = ctx.policy.index.byPath.get(pathKey(name.split('.').slice(1)));
  if (!set || set.kind !== 'function') throw compileError('rego_type_error', `undefined function ${name}`, op.loc);
  if (set.arity !== args.length) {
    throw compileError('rego_type_error', `function ${name} has arity ${set.arity}, got ${args.length} arguments`, op.loc);
  }
  const func = ctx.policy.funcFor(set, mocks);
  const b = ctx.b;
  planTerms(ctx, args, (ops) => {
    const r = b.newLocal();
    b.emit('CallStmt', { func, args: [local(INPUT), local(DATA), ...ops], result: r });
    cont(local(r));
  });
}

function planBuiltinCall(ctx: FnCtx, call: PlannedCall, cont: OpCont): void {
  const { name, op, args } = call;
  const b = ctx.b;
  const arity = ctx.policy.builtinArity(name);
  if (arity === undefined) throw unsupportedBuiltin(name, op.loc);
  if (arity !== args.length) {
    throw compileError('rego_type_error', `${name}: arity mismatch: expected ${arity} arguments, got ${args.length}`, op.loc);
  }
  b.tables.useBuiltin(name, arity);
  planTerms(ctx, args, (ops) => {
    const r = b.newLocal();
    b.emit('CallStmt', { func: name, args: ops, result: r });
    if (name === 'providers.aws.sign_req') keepRequestBody(ctx, ops[0] as Operand, r);
    cont(local(r));
  });
}

/**
 * The host signs the request it received as JSON, where a set in the body
 * became an array (the digest is the same: OPA also hashes the body's JSON);
 * the signed request carries the body as the policy gave it, as OPA's does.
 */
function keepRequestBody(ctx: FnCtx, request: Operand, signed: Local): void {
  const b = ctx.b;
  b.nested(() => {
    const body = b.newLocal();
    b.emit('DotStmt', { source: request, key: b.str('body'), target: body });
    b.emit('ObjectInsertStmt', { key: b.str('body'), value: local(body), object: signed });
  });
}

/**
 * `$"a {x} b"`: each embedded expression is evaluated to the set of its
 * values (empty when undefined), and `internal.template_string` renders the
 * array of literal parts and sets.
 */
function planTemplate(ctx: FnCtx, t: Extract<Term, { type: 'templatestring' }>, cont: OpCont): void {
  const b = ctx.b;
  const arr = b.newLocal();
  b.emit('MakeArrayStmt', { capacity: t.parts.length, target: arr });
  for (const p of t.parts) {
    if (p.type === 'string') {
      b.emit('ArrayAppendStmt', { value: b.str(p.value), array: arr });
      continue;
    }
    // A set part holds the values of an embedded expression; a constant other than a set goes in as is.
    const constant = p.type === 'term' && !p.negated && p.with.length === 0 ? p.term : undefined;
    if (constant && constant.type !== 'set' && isGround(constant)) {
      planTerm(ctx, constant, (op) => b.emit('ArrayAppendStmt', { value: op, array: arr }));
      continue;
    }
    const s = b.newLocal();
    b.emit('MakeSetStmt', { target: s });
    const add: OpCont = (op) => b.emit('SetAddStmt', { value: op, set: s });
    b.nested(() => scoped(ctx, () => planEmbedded(ctx, p, add)));
    b.emit('ArrayAppendStmt', { value: local(s), array: arr });
  }
  // Not a user-callable builtin: the planner's own operator, like `eq`; the emitter provides it.
  const name = 'internal.template_string';
  b.tables.useBuiltin(name, 1);
  const r = b.newLocal();
  b.emit('CallStmt', { func: name, args: [local(arr)], result: r });
  cont(local(r));
}

/**
 * The value of an expression embedded in a template string: a term's value,
 * a call's result (`{x + 1}`, `{a == b}`), or `true` for other expressions.
 */
function planEmbedded(ctx: FnCtx, e: Expr, add: OpCont): void {
  if (!e.negated && e.type === 'term') {
    const term = e.term;
    return planExprValue(ctx, e, (then) => planTerm(ctx, term, (op) => (add(op), then())));
  }
  const name = e.type === 'call' ? operatorName(e.operator) : undefined;
  if (!e.negated && e.type === 'call' && name !== 'eq' && name !== 'assign') {
    const { operator, args } = e;
    return planExprValue(ctx, e, (then) => planCall(ctx, operator, args, (op) => (add(op), then())));
  }
  planExprInner(ctx, e, () => add({ type: 'bool', value: true }));
}

/** Runs `plan` under the expression's `with` modifiers, if any. */
function planExprValue(ctx: FnCtx, e: Expr, plan: (then: () => void) => void): void {
  if (e.with.length === 0) return plan(() => {});
  planWith(ctx, e, plan, () => {});
}
