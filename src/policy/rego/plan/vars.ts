/**
 * Variable collection over terms and expressions, the base of scoping,
 * safety analysis and reordering.
 */
import type { Expr, Term } from '../ast.ts';

/**
 * Calls `visit` for every var in `t`, not descending into comprehension
 * bodies (their variables are their own, except closures handled by the
 * caller through `closureVars`).
 */
export function forEachVar(t: Term, visit: (name: string, t: Term) => void): void {
  switch (t.type) {
    case 'var':
      visit(t.name, t);
      return;
    case 'ref':
      forEachVar(t.head, visit);
      for (const p of t.path) forEachVar(p, visit);
      return;
    case 'array':
    case 'set':
      for (const i of t.items) forEachVar(i, visit);
      return;
    case 'object':
      for (const [k, v] of t.items) {
        forEachVar(k, visit);
        forEachVar(v, visit);
      }
      return;
    case 'call':
      for (const a of t.args) forEachVar(a, visit);
      return;
    case 'templatestring':
      for (const p of t.parts) if (p.type !== 'string') forEachExprVar(p, visit);
      return;
    default:
      return;
  }
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

