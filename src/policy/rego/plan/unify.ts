/**
 * Unification (`=`, `:=`, argument patterns, `some … in` patterns). A
 * pattern is a term with variables not yet bound: an unbound variable is
 * bound to the value, arrays and objects are matched structurally, and
 * anything else is compared for equality.
 */
import type { Term } from '../ast.ts';
import type { Local, Operand } from '../ir.ts';
import { local } from './builder.ts';
import { DATA, INPUT, type FnCtx } from './context.ts';
import { compileError } from './errors.ts';
import { planTerm, planTerms } from './terms.ts';

type Cont = () => void;

export function isUnbound(ctx: FnCtx, t: Term): boolean {
  return t.type === 'var' && !ctx.vars.has(t.name);
}

export function isPattern(ctx: FnCtx, t: Term): boolean {
  if (isUnbound(ctx, t)) return true;
  if (t.type === 'array') return t.items.some((x) => isPattern(ctx, x));
  if (t.type === 'object') return t.items.some(([, v]) => isPattern(ctx, v));
  return false;
}

/** A ref into `data`: its lookups read stored documents, where `[2]` also finds key "2". */
function isDataRef(t: Term): boolean {
  return t.type === 'ref' && t.head.type === 'var' && t.head.name === 'data';
}

/**
 * Binds a variable to a value. A value read from `data` is bound through a
 * copy: a lookup into the variable is an ordinary one (`obj := data.x;
 * obj[2]` does not find key "2"), as in OPA; only refs written from `data`
 * read storage.
 */
export function bindVar(ctx: FnCtx, name: string, op: Operand, fromData = false): void {
  if (op.type === 'local' && op.value !== INPUT && op.value !== DATA && !fromData) {
    ctx.vars.set(name, op.value);
    return;
  }
  const l = ctx.b.newLocal();
  ctx.b.emit('AssignVarStmt', { source: op, target: l });
  ctx.vars.set(name, l);
}

function fail(ctx: FnCtx): void {
  ctx.b.emit('EqualStmt', { a: { type: 'bool', value: true }, b: { type: 'bool', value: false } });
}

export function unify(ctx: FnCtx, a: Term, b: Term, cont: Cont): void {
  if (isUnbound(ctx, a) && isUnbound(ctx, b)) {
    throw compileError('rego_unsafe_var_error', `var ${ctx.policy.names.display((a as { name: string }).name)} is unsafe`, a.loc);
  }
  if (bindUnbound(ctx, a, b, cont) || bindUnbound(ctx, b, a, cont)) return;
  if (unifyComposites(ctx, a, b, cont)) return;
  if (isPattern(ctx, a)) return planTerm(ctx, b, (op) => unifyLocal(ctx, a, ctx.b.toLocal(op), cont));
  if (isPattern(ctx, b)) return planTerm(ctx, a, (op) => unifyLocal(ctx, b, ctx.b.toLocal(op), cont));
  planTerms(ctx, [a, b], ([x, y]) => {
    ctx.b.emit('EqualStmt', { a: x as Operand, b: y as Operand });
    cont();
  });
}

/** `x = value` with `x` an unbound variable: it is bound to the value. True when it was. */
function bindUnbound(ctx: FnCtx, x: Term, value: Term, cont: Cont): boolean {
  if (x.type !== 'var' || !isUnbound(ctx, x)) return false;
  planTerm(ctx, value, (op) => (bindVar(ctx, x.name, op, isDataRef(value)), cont()));
  return true;
}

/**
 * Two array literals, or two object literals with constant keys, one of them
 * a pattern: their items unify pair by pair. True when planned so.
 */
function unifyComposites(ctx: FnCtx, a: Term, b: Term, cont: Cont): boolean {
  if (!isPattern(ctx, a) && !isPattern(ctx, b)) return false;
  const pairs = pairItems(a, b);
  if (pairs === 'dynamic') return false;
  if (pairs === undefined) fail(ctx);
  else unifyPairs(ctx, pairs, cont);
  return true;
}

/**
 * The items of two arrays, or of two objects by their keys, paired; undefined
 * when they cannot match; 'dynamic' when the pairs are not known before
 * evaluation (or the terms are not two composites of one kind).
 */
function pairItems(a: Term, b: Term): Array<[Term, Term]> | undefined | 'dynamic' {
  if (a.type === 'array' && b.type === 'array') {
    return a.items.length === b.items.length ? a.items.map((x, i) => [x, b.items[i] as Term]) : undefined;
  }
  if (a.type === 'object' && b.type === 'object') return matchObjectPatterns(a, b);
  return 'dynamic';
}

function unifyPairs(ctx: FnCtx, pairs: Array<[Term, Term]>, cont: Cont): void {
  if (pairs.length === 0) return cont();
  // A later pair may bind what an earlier one needs: take the first that can go.
  let i = pairs.findIndex(([x, y]) => !(isUnbound(ctx, x) && isUnbound(ctx, y)));
  if (i < 0) i = 0;
  const [x, y] = pairs[i] as [Term, Term];
  const rest = pairs.filter((_, j) => j !== i);
  unify(ctx, x, y, () => unifyPairs(ctx, rest, cont));
}

/** Pairs values of two object literals by their (constant) keys. */
function matchObjectPatterns(
  a: Extract<Term, { type: 'object' }>,
  b: Extract<Term, { type: 'object' }>,
): Array<[Term, Term]> | undefined | 'dynamic' {
  const key = (t: Term): string | undefined =>
    t.type === 'string' || t.type === 'number' || t.type === 'boolean' || t.type === 'null'
      ? `${t.type}:${(t as { value?: unknown }).value}`
      : undefined;
  if (a.items.length !== b.items.length) return undefined;
  const out: Array<[Term, Term]> = [];
  for (const [k, v] of a.items) {
    const ka = key(k);
    if (ka === undefined) return 'dynamic';
    const other = b.items.find(([k2]) => key(k2) === ka);
    if (!other) return b.items.every(([k2]) => key(k2) !== undefined) ? undefined : 'dynamic';
    out.push([v, other[1]]);
  }
  return out;
}

/** Unifies a pattern with the value held in `v`. */
export function unifyLocal(ctx: FnCtx, pattern: Term, v: Local, cont: Cont): void {
  const b = ctx.b;
  if (pattern.type === 'var' && isUnbound(ctx, pattern)) {
    bindVar(ctx, pattern.name, local(v));
    return cont();
  }
  if (pattern.type === 'array' && isPattern(ctx, pattern)) {
    b.emit('IsArrayStmt', { source: local(v) });
    lengthIs(ctx, v, pattern.items.length);
    const step = (i: number): void => {
      if (i === pattern.items.length) return cont();
      const k = b.newLocal();
      b.emit('MakeNumberIntStmt', { value: i, target: k });
      const e = b.newLocal();
      b.emit('DotStmt', { source: local(v), key: local(k), target: e });
      unifyLocal(ctx, pattern.items[i] as Term, e, () => step(i + 1));
    };
    return step(0);
  }
  if (pattern.type === 'object' && isPattern(ctx, pattern)) {
    b.emit('IsObjectStmt', { source: local(v) });
    lengthIs(ctx, v, pattern.items.length);
    const step = (i: number): void => {
      if (i === pattern.items.length) return cont();
      const [kt, vt] = pattern.items[i] as [Term, Term];
      planTerm(ctx, kt, (key) => {
        const e = b.newLocal();
        b.emit('DotStmt', { source: local(v), key, target: e });
        unifyLocal(ctx, vt, e, () => step(i + 1));
      });
    };
    return step(0);
  }
  planTerm(ctx, pattern, (op) => {
    b.emit('EqualStmt', { a: op, b: local(v) });
    cont();
  });
}

function lengthIs(ctx: FnCtx, v: Local, n: number): void {
  const b = ctx.b;
  const len = b.newLocal();
  b.emit('LenStmt', { source: local(v), target: len });
  const want = b.newLocal();
  b.emit('MakeNumberIntStmt', { value: n, target: want });
  b.emit('EqualStmt', { a: local(len), b: local(want) });
}
