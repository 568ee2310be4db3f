/**
 * Call checks over every rule (reachable from an entrypoint or not): each
 * call names a user function or a supported builtin, with the right number
 * of arguments. An unknown name is OPA's `rego_type_error: undefined function`.
 */
import type { Body, Expr, RefTerm, Rule, Term, WithModifier } from '../ast.ts';
import { termParts } from '../ast-parts.ts';
import { operatorName } from '../ast.ts';
import { compileError, unsupportedBuiltin } from './errors.ts';
import { BUILTIN_REF } from './resolve.ts';
import { pathKey, type RuleIndex } from './rule-index.ts';

export function checkCalls(index: RuleIndex, rules: Rule[], builtinArity: (name: string) => number | undefined): void {
  const arity = (op: RefTerm): number => {
    const name = operatorName(op);
    if (name === undefined) throw compileError('rego_type_error', 'invalid function name', op.loc);
    if (name.startsWith('data.')) {
      const set = index.byPath.get(pathKey(name.split('.').slice(1)));
      if (!set || set.kind !== 'function') throw compileError('rego_type_error', `undefined function ${name}`, op.loc);
      return set.arity;
    }
    const n = builtinArity(name);
    if (n === undefined) throw unsupportedBuiltin(name, op.loc);
    return n;
  };
  const check = (op: RefTerm, got: number, statement: boolean): void => {
    const name = operatorName(op);
    if (name === 'eq' || name === 'assign' || (name === 'print' && statement)) return;
    const want = arity(op);
    if (got === want || (statement && got === want + 1)) return;
    throw compileError('rego_type_error', `${name}: arity mismatch: expected ${want} arguments, got ${got}`, op.loc);
  };
  const term = (t: Term): void => {
    if (t.type === 'call') check(t.operator, t.args.length, false);
    const parts = termParts(t);
    parts.terms.forEach(term);
    parts.bodies.forEach(body);
    parts.exprs.forEach(expr);
  };
  const expr = (e: Expr): void => {
    if (e.type === 'term') term(e.term);
    else if (e.type === 'call') {
      check(e.operator, e.args.length, true);
      e.args.forEach(term);
    } else if (e.type === 'somein') {
      term(e.collection);
      term(e.value);
      if (e.key) term(e.key);
    } else if (e.type === 'every') {
      term(e.domain);
      body(e.body);
    }
    e.with.forEach(withModifier);
  };
  // A builtin named as a `with` value (`with f as count`) must exist.
  const withModifier = (w: WithModifier): void => {
    term(w.value);
    const v = w.value;
    if (v.type === 'ref' && v.head.type === 'var' && v.head.name.startsWith(BUILTIN_REF)) {
      const name = v.head.name.slice(BUILTIN_REF.length);
      if (builtinArity(name) === undefined) throw unsupportedBuiltin(name, v.loc);
    }
    const root = w.target.head.type === 'var' ? w.target.head.name : '';
    if (root !== 'input' && root !== 'data') withTarget(w.target);
  };
  // `with f as …` must name a function or builtin that exists.
  const withTarget = (t: RefTerm): void => {
    const name = operatorName(t);
    const known = name !== undefined && (name.startsWith('data.') ? index.byPath.get(pathKey(name.split('.').slice(1)))?.kind === 'function' : builtinArity(name) !== undefined);
    if (!known) {
      throw compileError('rego_compile_error', `with keyword target must reference existing input, data, or a function: ${name ?? '?'}`, t.loc);
    }
  };
  const body = (b: Body): void => b.forEach(expr);
  const rule = (r: Rule): void => {
    const ts = [...r.head.ref.path, ...(r.head.args ?? [])];
    if (r.head.key) ts.push(r.head.key);
    if (r.head.value) ts.push(r.head.value);
    ts.forEach(term);
    body(r.body);
    if (r.else) rule(r.else);
  };
  rules.forEach(rule);
}
