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
import { DATA, INPUT, scoped, withoutFuncMocks, type FnCtx } from './context.ts';
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
  const b = ctx.b;
  switch (t.type) {
    case 'null': {
      const l = b.newLocal();
      b.emit('MakeNullStmt', { target: l });
      return cont(local(l));
    }
    case 'boolean':
      return cont({ type: 'bool', value: t.value });
    case 'number': {
      const l = b.newLocal();
      b.emit('MakeNumberRefStmt', { Index: b.tables.string(t.value), target: l });
      return cont(local(l));
    }
    case 'string':
      return cont(b.str(t.value));
    case 'var': {
      const l = ctx.vars.get(t.name);
      if (l === undefined) {
        throw compileError('rego_unsafe_var_error', `var ${ctx.policy.names.display(t.name)} is unsafe`, t.loc);
      }
      return cont(local(l));
    }
    case 'ref':
      return planRef(ctx, t, cont);
    case 'array':
    case 'set':
      return planTerms(ctx, t.items, (ops) => {
        const l = b.newLocal();
        if (t.type === 'array') {
          b.emit('MakeArrayStmt', { capacity: ops.length, target: l });
          for (const op of ops) b.emit('ArrayAppendStmt', { value: op, array: l });
        } else {
          b.emit('MakeSetStmt', { target: l });
          for (const op of ops) b.emit('SetAddStmt', { value: op, set: l });
        }
        cont(local(l));
      });
    case 'object':
      return planTerms(ctx, t.items.flat(), (ops) => {
        const l = b.newLocal();
        b.emit('MakeObjectStmt', { target: l });
        for (let i = 0; i < ops.length; i += 2) {
          b.emit('ObjectInsertStmt', { key: ops[i] as Operand, value: ops[i + 1] as Operand, object: l });
        }
        cont(local(l));
      });
    case 'arraycomprehension':
    case 'setcomprehension':
    case 'objectcomprehension':
      return planComprehension(ctx, t, cont);
    case 'call':
      if (isRelation(ctx, t.operator)) {
        // A relation used as a value (`[p, v] := walk(x)`) takes each of its outputs in turn, as in OPA.
        return planCall(ctx, t.operator, t.args, (r) => {
          const k = b.newLocal();
          const v = b.newLocal();
          const block = b.block(() => scoped(ctx, () => cont(local(v))));
          b.emit('ScanStmt', { source: b.toLocal(r), key: k, value: v, block });
        });
      }
      return planCall(ctx, t.operator, t.args, cont);
    case 'templatestring':
      return planTemplate(ctx, t, cont);
  }
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
  const b = ctx.b;
  switch (t.type) {
    case 'null': {
      const l = b.newLocal();
      b.emit('MakeNullStmt', { target: l });
      return local(l);
    }
    case 'boolean':
      return { type: 'bool', value: t.value };
    case 'number': {
      const l = b.newLocal();
      b.emit('MakeNumberRefStmt', { Index: b.tables.string(t.value), target: l });
      return local(l);
    }
    case 'string':
      return b.str(t.value);
    case 'var':
      return local(ctx.vars.get(t.name) as Local);
    case 'array':
    case 'set': {
      const ops = t.items.map((i) => planDirect(ctx, i));
      const l = b.newLocal();
      if (t.type === 'array') {
        b.emit('MakeArrayStmt', { capacity: ops.length, target: l });
        for (const op of ops) b.emit('ArrayAppendStmt', { value: op, array: l });
      } else {
        b.emit('MakeSetStmt', { target: l });
        for (const op of ops) b.emit('SetAddStmt', { value: op, set: l });
      }
      return local(l);
    }
    case 'object': {
      const ops = t.items.map(([k, v]) => [planDirect(ctx, k), planDirect(ctx, v)] as const);
      const l = b.newLocal();
      b.emit('MakeObjectStmt', { target: l });
      for (const [k, v] of ops) b.emit('ObjectInsertStmt', { key: k, value: v, object: l });
      return local(l);
    }
    default:
      throw new Error(`planDirect: ${t.type} is not a direct term`);
  }
}

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
  let name = operatorName(op);
  if (name === undefined) throw compileError('rego_type_error', 'invalid function name', op.loc);
  const mock = ctx.mocks.funcs.get(name);
  const b = ctx.b;
  if (mock?.kind === 'value') return planTerms(ctx, args, () => planTerm(ctx, mock.term, cont));
  if (mock?.kind === 'data') {
    return planTerms(ctx, args, () => {
      const r = b.newLocal();
      b.emit('DotStmt', { source: local(DATA), key: b.str(mock.key), target: r });
      cont(local(r));
    });
  }
  let mocks = ctx.mocks;
  if (mock?.kind === 'func') {
    name = operatorName(mock.op) ?? name;
    mocks = withoutFuncMocks(mocks);
  }
  if (name.startsWith(BUILTIN_REF)) name = name.slice(BUILTIN_REF.length);
  if (name.startsWith('data.')) {
    const set = ctx.policy.index.byPath.get(pathKey(name.split('.').slice(1)));
    if (!set || set.kind !== 'function') throw compileError('rego_type_error', `undefined function ${name}`, op.loc);
    if (set.arity !== args.length) {
      throw compileError('rego_type_error', `function ${name} has arity ${set.arity}, got ${args.length} arguments`, op.loc);
    }
    const func = ctx.policy.funcFor(set, mocks);
    return planTerms(ctx, args, (ops) => {
      const r = b.newLocal();
      b.emit('CallStmt', { func, args: [local(INPUT), local(DATA), ...ops], result: r });
      cont(local(r));
    });
  }
  const arity = ctx.policy.builtinArity(name);
  if (arity === undefined) throw unsupportedBuiltin(name, op.loc);
  if (arity !== args.length) {
    throw compileError('rego_type_error', `${name}: arity mismatch: expected ${arity} arguments, got ${args.length}`, op.loc);
  }
  b.tables.useBuiltin(name, arity);
  planTerms(ctx, args, (ops) => {
    const r = b.newLocal();
    b.emit('CallStmt', { func: name as string, args: ops, result: r });
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
