/**
 * OPA's check that declared variables are used (Rego v1 rejects the module
 * otherwise, with `declared var x unused`): a variable declared by a bare
 * `some x` must appear elsewhere in its body or in the head that body
 * builds (a rule's key and value, a comprehension's term), and the key and
 * value variables of `every` must appear in its body. `some x in xs` uses
 * its variables itself; wildcards are exempt. Runs on resolved rules, where
 * every variable has its unique name.
 */
import type { Body, EveryExpr, Expr, Rule, SomeDeclExpr, Term } from '../ast.ts';
import { compileError } from './errors.ts';
import { bodiesInTerm, nestedBodies } from './nested.ts';
import type { LocalNames } from './scope.ts';

export function checkDeclaredVars(rule: Rule, names: LocalNames): void {
  const heads: Term[] = [...rule.head.ref.path, ...(rule.head.key ? [rule.head.key] : []), ...(rule.head.value ? [rule.head.value] : [])];
  checkBody(rule.body, heads, names);
  for (const h of heads) for (const nb of bodiesInTerm(h)) checkBody(nb.body, nb.heads, names);
  if (rule.else) checkDeclaredVars(rule.else, names);
}

function checkBody(body: Body, heads: Term[], names: LocalNames): void {
  for (const e of body) {
    if (e.type === 'some') checkSomeUsed(e, { body, heads }, names);
    if (e.type === 'every') {
      checkEveryUsed(e, names);
      checkBody(e.body, [], names);
    }
    for (const nb of nestedBodies(e)) checkBody(nb.body, nb.heads, names);
  }
}

/** Each var of `some x, y` appears in the rest of its body or in the head that body builds. */
function checkSomeUsed(e: SomeDeclExpr, scope: { body: Body; heads: Term[] }, names: LocalNames): void {
  const elsewhere = [...scope.body.filter((x) => x !== e), ...scope.heads];
  for (const v of e.vars) {
    if (v.wildcard || mentions(elsewhere, v.name)) continue;
    throw unused(v.name, e, names);
  }
}

/** The key and value vars of `every` appear in its body. */
function checkEveryUsed(e: EveryExpr, names: LocalNames): void {
  for (const v of [e.key, e.value]) {
    if (!v || v.wildcard || mentions(e.body, v.name)) continue;
    throw unused(v.name, e, names);
  }
}

function unused(name: string, e: Expr, names: LocalNames): Error {
  return compileError('rego_compile_error', `declared var ${names.display(name)} unused`, e.loc);
}

/** Whether the variable appears anywhere in `x`, nested bodies included. */
function mentions(x: unknown, name: string): boolean {
  if (Array.isArray(x)) return x.some((y) => mentions(y, name));
  if (x === null || typeof x !== 'object') return false;
  const o = x as { type?: unknown; name?: unknown };
  if (o.type === 'var' && o.name === name) return true;
  for (const [k, v] of Object.entries(x)) if (k !== 'loc' && mentions(v, name)) return true;
  return false;
}
