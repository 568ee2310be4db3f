/**
 * Variable collection over terms and expressions, the base of scoping,
 * safety analysis and reordering.
 */
import type { Expr, Term } from '../ast.ts';
import { termParts } from '../ast-parts.ts';

const COMPREHENSIONS = new Set<Term['type']>(['arraycomprehension', 'setcomprehension', 'objectcomprehension']);

/**
 * Calls `visit` for every var in `t`, not descending into comprehension
 * bodies (their variables are their own, except closures handled by the
 * caller through `closureVars`).
 */
export function forEachVar(t: Term, visit: (name: string, t: Term) => void): void {
  if (t.type === 'var') {
    visit(t.name, t);
    return;
  }
  if (COMPREHENSIONS.has(t.type)) return;
  const parts = termParts(t);
  for (const x of parts.terms) forEachVar(x, visit);
  for (const e of parts.exprs) forEachExprVar(e, visit);
}

/** Vars of an expression's own terms (not nested bodies), including `with` values. */
export function forEachExprVar(e: Expr, visit: (name: string, t: Term) => void): void {
  switch (e.type) {
    case 'term':
      forEachVar(e.term, visit);
      break;
    case 'call':
      for (const a of e.args) forEachVar(a, visit);
      break;
    case 'some':
      for (const v of e.vars) visit(v.name, v);
      break;
    case 'somein':
      if (e.key) forEachVar(e.key, visit);
      forEachVar(e.value, visit);
      forEachVar(e.collection, visit);
      break;
    case 'every':
      forEachVar(e.domain, visit);
      break;
  }
  for (const w of e.with) forEachVar(w.value, visit);
}

