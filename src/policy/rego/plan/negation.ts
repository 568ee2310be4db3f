/**
 * What of a negated expression is evaluated before its `not`, as OPA's
 * compiler arranges it. Two of its rewriting stages run on every expression,
 * negated or not:
 * - RewriteExprTerms lifts calls nested in the expression's terms into
 *   statements of their own: `not f(g(x))` is `g(x, __1); not f(__1)`;
 * - RewriteDynamicTerms lifts refs and comprehensions that are call
 *   arguments (`not f(input.x)` is `__2 = input.x; not f(__2)`), and the
 *   dynamic keys of refs (`not input.a[input.k]` evaluates `input.k` first).
 *   The operands of an equality (`=`, `==`) and a term used as a statement
 *   keep a whole ref in place: `not input.x == 1` is true without `input.x`.
 * Only the last step is negated, so an undefined argument makes the body
 * fail instead of the negation succeed: without `input.tool`,
 * `not input.tool in data.allowed` is undefined in OPA, not true.
 * The lifted terms never iterate: every variable of a negated expression is
 * bound before it (safety.ts).
 */
import type { Expr, RefTerm, Term } from '../ast.ts';
import { BUILTIN_REF, isOp } from './resolve.ts';

/** A term evaluated before the negation, its value bound to the variable `name`. */
export interface Hoisted {
  name: string;
  term: Term;
}

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
