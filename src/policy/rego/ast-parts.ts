/**
 * The parts one level below a term or an expression, in source order, so
 * that walks over the AST share one description of its shape instead of a
 * switch each: sub-terms first, then the bodies of comprehensions (and of
 * `every`), then the expressions embedded in template strings. A call's
 * operator is a name, not a part; `some x` declares vars and has no parts;
 * `with` values are left to the walker, which usually treats them apart.
 */
import type { Body, Expr, StringTerm, Term } from './ast.ts';

export interface Parts {
  terms: readonly Term[];
  bodies: readonly Body[];
  exprs: readonly Expr[];
}

type PartsTable<T extends { type: string }> = { [K in T['type']]?: (node: Extract<T, { type: K }>) => Parts };

function parts(terms: readonly Term[], bodies: readonly Body[] = [], exprs: readonly Expr[] = []): Parts {
  return { terms, bodies, exprs };
}

function isExpr(p: StringTerm | Expr): p is Expr {
  return p.type !== 'string';
}

const TERM_PARTS: PartsTable<Term> = {
  ref: (t) => parts([t.head, ...t.path]),
  array: (t) => parts(t.items),
  set: (t) => parts(t.items),
  object: (t) => parts(t.items.flat()),
  call: (t) => parts(t.args),
  arraycomprehension: (t) => parts([t.term], [t.body]),
  setcomprehension: (t) => parts([t.term], [t.body]),
  objectcomprehension: (t) => parts([t.key, t.value], [t.body]),
  templatestring: (t) => parts([], [], t.parts.filter(isExpr)),
};

const EXPR_PARTS: PartsTable<Expr> = {
  term: (e) => parts([e.term]),
  call: (e) => parts(e.args),
  somein: (e) => parts(e.key === undefined ? [e.value, e.collection] : [e.key, e.value, e.collection]),
  every: (e) => parts([e.domain], [e.body]),
};

export function termParts(t: Term): Parts {
  const of = TERM_PARTS[t.type] as ((t: Term) => Parts) | undefined;
  return of?.(t) ?? parts([]);
}

export function exprParts(e: Expr): Parts {
  const of = EXPR_PARTS[e.type] as ((e: Expr) => Parts) | undefined;
  return of?.(e) ?? parts([]);
}
