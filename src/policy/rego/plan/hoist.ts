/**
 * What of an expression OPA evaluates before the expression itself. Two of
 * its compiler's rewriting stages run on every expression:
 * - RewriteExprTerms lifts calls nested in the expression's terms into
 *   statements of their own: `input.tags[i] == f(1)` is `f(1, __1);
 *   input.tags[i] == __1`, so `f(1)` runs once, before any iteration, and
 *   an error in it is raised even when `input.tags` is empty;
 * - RewriteDynamicTerms lifts refs and comprehensions that are call
 *   arguments (`not f(input.x)` is `__2 = input.x; not f(__2)`), and the
 *   dynamic keys of refs (`not input.a[input.k]` evaluates `input.k` first).
 *   The operands of an equality (`=`, `==`) and a term used as a statement
 *   keep a whole ref in place: `not input.x == 1` is true without `input.x`.
 *
 * Under `not` both matter: only the last step is negated, so an undefined
 * argument makes the body fail instead of the negation succeed (without
 * `input.tool`, `not input.tool in data.allowed` is undefined in OPA, not
 * true). Elsewhere only the first does, and only for the calls whose
 * variables are bound before the expression: the others OPA's safety
 * ordering puts after the expression that binds them, where they are
 * planned anyway.
 */
import type { Expr, RefTerm, Term } from '../ast.ts';
import { operatorName } from '../ast.ts';
import { BUILTIN_REF, isOp } from './resolve.ts';

/** A term evaluated before the negation, its value bound to the variable `name`. */
export interface Hoisted {
  name: string;
  term: Term;
}

/** A negated expression: nested calls, then dynamic arguments, before the `not`. The lifted terms never iterate: every variable of a negated expression is bound before it (safety.ts). */
export function hoistNegated(e: Expr, fresh: () => string): { hoisted: Hoisted[]; expr: Expr } {
  const hoisted: Hoisted[] = [];
  const lift = (term: Term): Term => {
    const name = fresh();
    hoisted.push({ name, term });
    return { type: 'var', loc: term.loc, name };
  };

  /** RewriteExprTerms: every call nested in the term, innermost first. */
  const expand = (t: Term): Term => {
    switch (t.type) {
      case 'call':
        return lift({ ...t, args: t.args.map(expand) });
      case 'ref':
        return { ...t, head: expand(t.head), path: t.path.map(expand) };
      case 'array':
      case 'set':
        return { ...t, items: t.items.map(expand) };
      case 'object':
        return { ...t, items: t.items.map(([k, v]) => [expand(k), expand(v)] as [Term, Term]) };
      default:
        return t;
    }
  };

  /** RewriteDynamicTerms for a call argument: refs and comprehensions, also inside composites. */
  const dynamic = (t: Term): Term => {
    switch (t.type) {
      case 'ref':
        if (isBuiltinValue(t)) return t;
        return lift({ ...t, path: t.path.map(dynamic) });
      case 'array':
      case 'set':
        return { ...t, items: t.items.map(dynamic) };
      case 'object':
        return { ...t, items: t.items.map(([k, v]) => [dynamic(k), dynamic(v)] as [Term, Term]) };
      case 'arraycomprehension':
      case 'setcomprehension':
      case 'objectcomprehension':
        return lift(t);
      default:
        return t;
    }
  };

  /** RewriteDynamicTerms for an equality operand or a statement's term: a whole ref or comprehension stays. */
  const operand = (t: Term): Term => {
    if (t.type === 'ref') return { ...t, path: t.path.map(dynamic) };
    if (t.type === 'arraycomprehension' || t.type === 'setcomprehension' || t.type === 'objectcomprehension') return t;
    return dynamic(t);
  };

  let expr: Expr = e;
  if (e.type === 'call') {
    const args = e.args.map(expand);
    const equality = (isOp(e.operator, 'eq') || isOp(e.operator, 'equal')) && args.length === 2;
    expr = { ...e, args: args.map(equality ? operand : dynamic) };
  } else if (e.type === 'term') {
    expr = { ...e, term: operand(expand(e.term)) };
  }
  return { hoisted, expr };
}

/** A builtin named as a value (`builtin:count`): nothing to evaluate. */
function isBuiltinValue(r: RefTerm): boolean {
  return r.head.type === 'var' && r.head.name.startsWith(BUILTIN_REF);
}

/**
 * Any other expression: the nested calls all of whose variables are bound
 * (`bound`), innermost first. Calls the expression's own iteration feeds
 * stay where they are.
 */
export function hoistCalls(e: Expr, fresh: () => string, bound: (name: string) => boolean): { hoisted: Hoisted[]; expr: Expr } {
  if (e.type !== 'call' && e.type !== 'term') return { hoisted: [], expr: e };
  const hoisted: Hoisted[] = [];
  const closed = (t: Term): boolean => allVars(t, bound);
  const expand = (t: Term): Term => {
    switch (t.type) {
      case 'call': {
        const inner = { ...t, args: t.args.map(expand) };
        if (!closed(t) || SPECIAL.has(operatorName(t.operator) ?? '')) return inner;
        const name = fresh();
        hoisted.push({ name, term: inner });
        return { type: 'var', loc: t.loc, name };
      }
      case 'ref':
        return { ...t, head: expand(t.head), path: t.path.map(expand) };
      case 'array':
      case 'set':
        return { ...t, items: t.items.map(expand) };
      case 'object':
        return { ...t, items: t.items.map(([k, v]) => [expand(k), expand(v)] as [Term, Term]) };
      default:
        return t;
    }
  };
  const expr: Expr = e.type === 'call' ? { ...e, args: e.args.map(expand) } : { ...e, term: expand(e.term) };
  return { hoisted, expr };
}

/** Calls that are no plain values: `print` is planned away, `walk` binds one output per result. */
const SPECIAL = new Set(['print', 'walk']);

/** Whether every variable in `x` (nested bodies included, call operators not) is bound. */
function allVars(x: unknown, bound: (name: string) => boolean): boolean {
  if (Array.isArray(x)) return x.every((y) => allVars(y, bound));
  if (x === null || typeof x !== 'object') return true;
  const o = x as { type?: unknown; name?: unknown };
  if (o.type === 'var' && typeof o.name === 'string' && !bound(o.name)) return false;
  return Object.entries(x).every(([k, v]) => k === 'loc' || k === 'operator' || allVars(v, bound));
}
