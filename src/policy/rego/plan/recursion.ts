/**
 * Recursion detection. A rule that depends on itself, directly or through
 * other rules (or through a ref to a prefix of the tree that holds it, like
 * `data.pkg` from a rule of `pkg`), is a `rego_recursion_error`: Rego has no
 * recursion and the plan would never terminate.
 */
import type { Body, Expr, RefTerm, Rule, Term } from '../ast.ts';
import { termParts } from '../ast-parts.ts';
import { operatorName } from '../ast.ts';
import { compileError } from './errors.ts';
import { pathKey, ruleSetsMatching, showPath, type RuleIndex, type RuleSet } from './rule-index.ts';

export function checkRecursion(index: RuleIndex): void {
  const deps = new Map<RuleSet, Set<RuleSet>>();
  for (const set of index.byPath.values()) {
    const out = new Set<RuleSet>();
    const rules = [...set.rules, ...(set.defaultRule ? [set.defaultRule] : [])];
    for (const r of rules) collectRule(index, r.rule, out);
    deps.set(set, out);
  }
  const state = new Map<RuleSet, 'visiting' | 'done'>();
  const stack: RuleSet[] = [];
  const visit = (s: RuleSet): void => {
    const st = state.get(s);
    if (st === 'done') return;
    if (st === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(s)), s].map((x) => showPath(x.path)).join(' -> ');
      const loc = s.rules[0]?.rule.loc ?? s.defaultRule?.rule.loc;
      throw compileError('rego_recursion_error', `rule ${showPath(s.path)} is recursive: ${cycle}`, loc);
    }
    state.set(s, 'visiting');
    stack.push(s);
    for (const d of deps.get(s) ?? []) visit(d);
    stack.pop();
    state.set(s, 'done');
  };
  for (const s of index.byPath.values()) visit(s);
}

function collectRule(index: RuleIndex, r: Rule, out: Set<RuleSet>): void {
  const terms: Term[] = [...r.head.ref.path, ...(r.head.args ?? [])];
  if (r.head.key) terms.push(r.head.key);
  if (r.head.value) terms.push(r.head.value);
  for (const t of terms) collectTerm(index, t, out);
  collectBody(index, r.body, out);
  if (r.else) collectRule(index, r.else, out);
}

function collectBody(index: RuleIndex, body: Body, out: Set<RuleSet>): void {
  for (const e of body) collectExpr(index, e, out);
}

function collectExpr(index: RuleIndex, e: Expr, out: Set<RuleSet>): void {
  const t = (x: Term): void => collectTerm(index, x, out);
  switch (e.type) {
    case 'term':
      t(e.term);
      break;
    case 'call':
      callDep(index, operatorName(e.operator), out);
      e.args.forEach(t);
      break;
    case 'somein':
      t(e.collection);
      t(e.value);
      if (e.key) t(e.key);
      break;
    case 'every':
      t(e.domain);
      collectBody(index, e.body, out);
      break;
    default:
      break;
  }
  for (const w of e.with) {
    t(w.value);
    if (w.value.type === 'ref') callDep(index, operatorName(w.value), out);
  }
}

function callDep(index: RuleIndex, name: string | undefined, out: Set<RuleSet>): void {
  if (!name?.startsWith('data.')) return;
  const set = index.byPath.get(pathKey(name.split('.').slice(1)));
  if (set) out.add(set);
}

function collectTerm(index: RuleIndex, t: Term, out: Set<RuleSet>): void {
  if (t.type === 'ref') collectDataRef(index, t, out);
  if (t.type === 'call') callDep(index, operatorName(t.operator), out);
  const parts = termParts(t);
  for (const x of parts.terms) collectTerm(index, x, out);
  for (const b of parts.bodies) collectBody(index, b, out);
  for (const e of parts.exprs) collectExpr(index, e, out);
}

/** `data.a.b…`: the rule sets (not functions) it may read. */
function collectDataRef(index: RuleIndex, t: RefTerm, out: Set<RuleSet>): void {
  if (t.head.type !== 'var' || t.head.name !== 'data') return;
  const keys = t.path.map((p) => (p.type === 'string' || p.type === 'number' ? p.value : undefined));
  for (const s of ruleSetsMatching(index.root, keys)) if (s.kind !== 'function') out.add(s);
}
