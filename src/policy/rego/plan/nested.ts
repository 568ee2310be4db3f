/**
 * Walking the bodies nested in terms and expressions (comprehensions,
 * `every`), for safety analysis: which bodies an expression holds, and a
 * copy of a term with its bodies replaced.
 */
import type { Body, Expr, RefTerm, Term } from '../ast.ts';

export function forEachRefInTerm(t: Term, visit: (r: RefTerm) => void): void {
  switch (t.type) {
    case 'ref':
      visit(t);
      forEachRefInTerm(t.head, visit);
      for (const p of t.path) forEachRefInTerm(p, visit);
      return;
    case 'array':
    case 'set':
      for (const i of t.items) forEachRefInTerm(i, visit);
      return;
    case 'object':
      for (const [k, v] of t.items) {
        forEachRefInTerm(k, visit);
        forEachRefInTerm(v, visit);
      }
      return;
    case 'call':
      for (const a of t.args) forEachRefInTerm(a, visit);
      return;
    default:
      return;
  }
}

export function forEachRef(e: Expr, visit: (r: RefTerm) => void): void {
  if (e.type === 'term') forEachRefInTerm(e.term, visit);
  else if (e.type === 'call') for (const a of e.args) forEachRefInTerm(a, visit);
  else if (e.type === 'somein') {
    forEachRefInTerm(e.collection, visit);
    forEachRefInTerm(e.value, visit);
    if (e.key) forEachRefInTerm(e.key, visit);
  } else if (e.type === 'every') forEachRefInTerm(e.domain, visit);
}

/** A comprehension's body and its head terms (which may read the body's variables). */
export interface NestedBody {
  body: Body;
  heads: Term[];
}

/** Comprehension bodies directly inside the expression's terms. */
export function nestedBodies(e: Expr): NestedBody[] {
  const out: NestedBody[] = [];
  const terms: Term[] = [];
  if (e.type === 'term') terms.push(e.term);
  else if (e.type === 'call') terms.push(...e.args);
  else if (e.type === 'somein') terms.push(e.collection, e.value, ...(e.key ? [e.key] : []));
  else if (e.type === 'every') terms.push(e.domain);
  for (const w of e.with) terms.push(w.value);
  for (const t of terms) out.push(...bodiesInTerm(t));
  return out;
}

/** The comprehensions inside a term (not inside their own bodies). */
export function bodiesInTerm(t: Term): NestedBody[] {
  const out: NestedBody[] = [];
  const walk = (x: Term): void => {
    switch (x.type) {
      case 'arraycomprehension':
      case 'setcomprehension':
        out.push({ body: x.body, heads: [x.term] });
        return;
      case 'objectcomprehension':
        out.push({ body: x.body, heads: [x.key, x.value] });
        return;
      case 'ref':
        walk(x.head);
        x.path.forEach(walk);
        return;
      case 'array':
      case 'set':
        x.items.forEach(walk);
        return;
      case 'object':
        x.items.forEach(([k, v]) => {
          walk(k);
          walk(v);
        });
        return;
      case 'call':
        x.args.forEach(walk);
        return;
      default:
        return;
    }
  };
  walk(t);
  return out;
}

export function mapTermBodies(t: Term, f: (b: Body) => Body): Term {
  const m = (x: Term): Term => mapTermBodies(x, f);
  switch (t.type) {
    case 'ref':
      return { ...t, head: m(t.head), path: t.path.map(m) };
    case 'array':
    case 'set':
      return { ...t, items: t.items.map(m) };
    case 'object':
      return { ...t, items: t.items.map(([k, v]) => [m(k), m(v)] as [Term, Term]) };
    case 'call':
      return { ...t, args: t.args.map(m) };
    case 'arraycomprehension':
    case 'setcomprehension':
      return { ...t, body: f(t.body) };
    case 'objectcomprehension':
      return { ...t, body: f(t.body) };
    default:
      return t;
  }
}
