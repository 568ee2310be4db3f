/**
 * Safety analysis and body reordering. Rego evaluates a body in an order
 * where every variable is bound before it is read; the author's order need
 * not be that order. As OPA does, expressions are taken in source order,
 * each as soon as the variables it reads are bound, and a variable that no
 * expression can bind is a `rego_unsafe_var_error`.
 */
import type { Body, CallExpr, Expr, ObjectTerm, RefTerm, Rule, SomeInExpr, Term } from '../ast.ts';
import { bodiesInTerm, forEachRef, forEachRefInTerm, mapTermBodies, nestedBodies, type NestedBody } from './nested.ts';
import { compileError } from './errors.ts';
import { isOp, BUILTIN_REF } from './resolve.ts';
import type { LocalNames } from './scope.ts';
import { forEachExprVar, forEachVar } from './vars.ts';

type VarSet = Set<string>;

export interface SafetyContext {
  names: LocalNames;
  /** Number of arguments of a call operator, when it takes a fixed number. */
  arity(op: RefTerm): number | undefined;
}

/** Reorders every body of the rule (and of its else chain) for safety. */
export function reorderRule(rule: Rule, ctx: SafetyContext): Rule {
  const safe = new Set<string>();
  for (const a of rule.head.args ?? []) forEachVar(a, (n) => isLocal(n) && safe.add(n));
  const s = new Safety(ctx);
  const { body, bound } = s.reorder(rule.body, safe);
  const headTerms: Term[] = [...rule.head.ref.path];
  if (rule.head.key) headTerms.push(rule.head.key);
  if (rule.head.value) headTerms.push(rule.head.value);
  // Vars in the paths of refs in the head are bound by iterating them when the value is built.
  const iterated = new Set<string>();
  for (const t of headTerms) forEachRefInTerm(t, (r) => r.path.forEach((p) => forEachVar(p, (n) => iterated.add(n))));
  for (const t of headTerms) {
    forEachVar(t, (n, at) => {
      if (isLocal(n) && !bound.has(n) && !iterated.has(n)) {
        throw compileError('rego_unsafe_var_error', `var ${ctx.names.display(n)} is unsafe`, at.loc);
      }
    });
  }
  const head = { ...rule.head, ...s.headWithBodies(rule.head, bound) };
  return { ...rule, head, body, else: rule.else && reorderRule(rule.else, ctx) };
}

export function isLocal(n: string): boolean {
  return n !== 'input' && n !== 'data' && !n.startsWith(BUILTIN_REF);
}

class Safety {
  constructor(private readonly ctx: SafetyContext) {}

  reorder(body: Body, safe0: VarSet): { body: Body; bound: VarSet } {
    const safe = new Set(safe0);
    const remaining = [...body];
    const out: Expr[] = [];
    while (remaining.length > 0) {
      const i = remaining.findIndex((e) => this.ready(e, safe));
      if (i < 0) throw this.unsafe(remaining, safe);
      const e = remaining.splice(i, 1)[0] as Expr;
      out.push(this.nested(e, safe));
      if (!e.negated) for (const v of this.outputs(e, safe)) safe.add(v);
    }
    const declared = this.ctx.names.declaredIn.get(body);
    if (declared) this.ctx.names.declaredIn.set(out, declared);
    return { body: out, bound: safe };
  }

  private unsafe(remaining: Expr[], safe: VarSet): Error {
    for (const e of remaining) {
      const out = e.negated ? new Set<string>() : this.outputs(e, safe);
      let found: { n: string; t: Term } | undefined;
      this.inputs(e, (n, t) => {
        if (!found && !safe.has(n) && !out.has(n)) found = { n, t };
      });
      if (found) {
        return compileError('rego_unsafe_var_error', `var ${this.ctx.names.display(found.n)} is unsafe`, found.t.loc);
      }
    }
    return compileError('rego_unsafe_var_error', 'expression is unsafe', remaining[0]?.loc);
  }

  private ready(e: Expr, safe: VarSet): boolean {
    if (e.type === 'some') return true;
    // A negated expression binds nothing: all its variables, `_` too, must be bound before it (OPA's rule).
    const out = e.negated ? new Set<string>() : this.outputs(e, safe);
    let ok = true;
    this.inputs(e, (n) => {
      if (!safe.has(n) && !out.has(n)) ok = false;
    });
    return ok;
  }

  /** Every variable the expression reads or binds, including closures of nested bodies. */
  private inputs(e: Expr, visit: (n: string, t: Term) => void): void {
    if (e.type === 'some') return;
    const f = (n: string, t: Term): void => {
      if (isLocal(n)) visit(n, t);
    };
    forEachExprVar(e, f);
    for (const b of nestedBodies(e)) this.freeVars(b, f);
    if (e.type === 'every') this.freeVars({ body: e.body, heads: [] }, f);
  }

  private freeVars(nb: NestedBody, visit: (n: string, t: Term) => void): void {
    const declared = new Set<string>();
    const collectDeclared = (b: Body): void => {
      for (const n of this.ctx.names.declaredIn.get(b) ?? []) declared.add(n);
      for (const e of b) {
        for (const inner of nestedBodies(e)) collectDeclared(inner.body);
        if (e.type === 'every') collectDeclared(e.body);
      }
    };
    collectDeclared(nb.body);
    const seen = (n: string, t: Term): void => {
      if (isLocal(n) && !declared.has(n)) visit(n, t);
    };
    const walk = (b: Body): void => {
      for (const e of b) {
        forEachExprVar(e, seen);
        for (const inner of nestedBodies(e)) {
          walk(inner.body);
          inner.heads.forEach((h) => forEachVar(h, seen));
        }
        if (e.type === 'every') walk(e.body);
      }
    };
    walk(nb.body);
    nb.heads.forEach((h) => forEachVar(h, seen));
  }

  /** Variables the expression binds when run with `safe` bound. */
  outputs(e: Expr, safe: VarSet): VarSet {
    const out = this.refOutputs(e, safe);
    const all = new Set([...safe, ...out]);
    const more = e.type === 'call' ? this.callOutputs(e, all) : e.type === 'somein' ? this.someInOutputs(e, all) : undefined;
    return more === undefined ? out : new Set([...out, ...more]);
  }

  /** `x = y`, `x := y`: what unification binds; `f(a, out)`: the output pattern, once the inputs are safe. */
  private callOutputs(e: CallExpr, safe: VarSet): VarSet | undefined {
    if ((isOp(e.operator, 'eq') || isOp(e.operator, 'assign')) && e.args.length === 2) {
      return this.unifyOutputs(e.args[0] as Term, e.args[1] as Term, safe);
    }
    const arity = this.ctx.arity(e.operator);
    if (arity === undefined || e.args.length !== arity + 1) return undefined;
    if (!e.args.slice(0, arity).every((a) => this.isSafe(a, safe))) return undefined;
    return patternVars(e.args[arity] as Term, safe);
  }

  /** `some k, v in xs`: the key and value patterns, once the collection is safe. */
  private someInOutputs(e: SomeInExpr, safe: VarSet): VarSet | undefined {
    if (!this.isSafe(e.collection, safe)) return undefined;
    const s = patternVars(e.value, safe);
    if (e.key) for (const v of patternVars(e.key, safe)) s.add(v);
    return s;
  }

  /** Variables bound by iterating refs: unbound vars in a ref's path. */
  refOutputs(e: Expr, safe: VarSet): VarSet {
    const out = new Set<string>();
    const visitRef = (r: RefTerm): void => {
      for (const p of r.path) {
        forEachVar(p, (n) => {
          if (isLocal(n) && !safe.has(n)) out.add(n);
        });
      }
    };
    forEachRef(e, visitRef);
    return out;
  }

  private isSafe(t: Term, safe: VarSet): boolean {
    const outs = new Set<string>();
    forEachRefInTerm(t, (r) => r.path.forEach((p) => forEachVar(p, (n) => outs.add(n))));
    let ok = true;
    forEachVar(t, (n) => {
      if (isLocal(n) && !safe.has(n) && !outs.has(n)) ok = false;
    });
    for (const b of bodiesInTerm(t)) {
      this.freeVars(b, (n) => {
        if (!safe.has(n)) ok = false;
      });
    }
    return ok;
  }

  private unifyOutputs(a: Term, b: Term, safe: VarSet): VarSet {
    const out = new Set<string>();
    // Repeat until nothing changes: a later pair may bind what an earlier one needs.
    let size = -1;
    while (size !== out.size) {
      size = out.size;
      this.unifyStep(a, b, { safe, out });
    }
    return out;
  }

  /** One pass of unifying `x` with `y`, adding what it binds to `acc.out`. */
  private unifyStep(x: Term, y: Term, acc: { safe: VarSet; out: Set<string> }): void {
    const all = new Set([...acc.safe, ...acc.out]);
    if (this.bindsVar(x, y, all, acc.out) || this.bindsVar(y, x, all, acc.out)) return;
    if (x.type === 'array' && y.type === 'array' && x.items.length === y.items.length) {
      x.items.forEach((xi, i) => this.unifyStep(xi, y.items[i] as Term, acc));
      return;
    }
    if (x.type === 'object' && y.type === 'object') return this.unifyObjects(x, y, acc);
    if (this.bindsPattern(x, y, all, acc.out)) return;
    this.bindsPattern(y, x, all, acc.out);
  }

  private unifyObjects(x: ObjectTerm, y: ObjectTerm, acc: { safe: VarSet; out: Set<string> }): void {
    // Keys pair up when they are the same term, a variable included (`{k: [x]} = {k: [v]}`), as OPA's safety has it.
    for (const [k, v] of x.items) {
      const other = y.items.find(([k2]) => sameGround(k, k2) || sameVar(k, k2));
      if (other) this.unifyStep(v, other[1], acc);
    }
  }

  /** `x` an unbound variable: bound when `y` is safe. True when `x` is one, bound or not. */
  private bindsVar(x: Term, y: Term, safe: VarSet, out: Set<string>): boolean {
    if (x.type !== 'var' || !isLocal(x.name) || safe.has(x.name)) return false;
    if (this.isSafe(y, safe)) out.add(x.name);
    return true;
  }

  /** `x` an array or object pattern and `y` safe: the pattern's unbound variables are bound. */
  private bindsPattern(x: Term, y: Term, safe: VarSet, out: Set<string>): boolean {
    if ((x.type !== 'array' && x.type !== 'object') || !this.isSafe(y, safe)) return false;
    for (const v of patternVars(x, safe)) out.add(v);
    return true;
  }

  /** Reorders the bodies nested in `e` with the variables bound at its point. */
  private nested(e: Expr, safe: VarSet): Expr {
    const mapBody = (b: Body, extra: string[] = []): Body =>
      this.reorder(b, new Set([...safe, ...this.refOutputs(e, safe), ...extra])).body;
    const mt = (t: Term): Term => mapTermBodies(t, (b) => mapBody(b));
    const w = e.with.map((m) => ({ ...m, value: mt(m.value) }));
    switch (e.type) {
      case 'term':
        return { ...e, with: w, term: mt(e.term) };
      case 'call':
        return { ...e, with: w, args: e.args.map(mt) };
      case 'somein':
        return { ...e, with: w, collection: mt(e.collection), value: mt(e.value), key: e.key && mt(e.key) };
      case 'every': {
        const kv = [e.value.name, ...(e.key ? [e.key.name] : [])];
        return { ...e, with: w, domain: mt(e.domain), body: mapBody(e.body, kv) };
      }
      default:
        return e;
    }
  }

  headWithBodies(head: Rule['head'], bound: VarSet): Partial<Rule['head']> {
    const mt = (t: Term): Term => mapTermBodies(t, (b) => this.reorder(b, bound).body);
    return {
      value: head.value && mt(head.value),
      key: head.key && mt(head.key),
    };
  }
}

function sameVar(a: Term, b: Term): boolean {
  return a.type === 'var' && b.type === 'var' && a.name === b.name;
}

function sameGround(a: Term, b: Term): boolean {
  return (
    (a.type === 'string' || a.type === 'number' || a.type === 'boolean') &&
    a.type === b.type &&
    (a as { value: unknown }).value === (b as { value: unknown }).value
  );
}

/** Unbound vars of a pattern that unification would bind (not those inside refs or calls). */
function patternVars(t: Term, safe: VarSet): VarSet {
  const out = new Set<string>();
  const walk = (x: Term): void => {
    if (x.type === 'var' && isLocal(x.name) && !safe.has(x.name)) out.add(x.name);
    else if (x.type === 'array') x.items.forEach(walk);
    else if (x.type === 'object') x.items.forEach(([, v]) => walk(v));
  };
  walk(t);
  return out;
}
