/**
 * Name resolution and local-variable rewriting, the first compile pass.
 *
 * After it, a rule's terms hold only three kinds of names:
 * - local variables, renamed unique (`x$3`), with `:=`/`some`/comprehension
 *   and `every` scoping and wildcards already resolved;
 * - the roots `input` and `data` (refs to rules and imports are rewritten to
 *   full `data.…`/`input.…` refs);
 * - call operators: `data.pkg.f` for user functions, the builtin's own name
 *   otherwise (`count`, `array.concat`).
 */
import type {
  ArrayComprehensionTerm, Body, CallExpr, CallTerm, EveryExpr, Expr, Import, Module, ObjectComprehensionTerm, RefTerm, Rule,
  SetComprehensionTerm, SomeInExpr, Term, VarTerm, WithModifier,
} from '../ast.ts';
import { operatorName } from '../ast.ts';
import { compileError } from './errors.ts';
import { indexMetadata, metadataCall, type MetadataIndex } from './metadata.ts';
import { LocalNames, Scope } from './scope.ts';
import { forEachExprVar, forEachVar } from './vars.ts';

export interface ResolvedRule {
  /** Package path below `data`. */
  pkg: string[];
  rule: Rule;
  module: Module;
}

/** Prefix of with-values that name a builtin used as a function mock. */
export const BUILTIN_REF = 'builtin:';

export interface ResolveOptions {
  isBuiltin(name: string): boolean;
}

interface ModuleEnv {
  pkg: string[];
  metadata: MetadataIndex;
  /** The rule being resolved (for `rego.metadata.*`). */
  rule?: Rule;
  ruleNames: Set<string>;
  imports: Map<string, RefTerm>;
  opts: ResolveOptions;
}

export function packagePath(m: Module): string[] {
  return m.package.path.path.map((t) => (t.type === 'string' ? t.value : String((t as { value?: unknown }).value)));
}

export function resolveModules(modules: Module[], names: LocalNames, opts: ResolveOptions): ResolvedRule[] {
  const rulesByPkg = new Map<string, Set<string>>();
  for (const m of modules) {
    const key = packagePath(m).join('.');
    const set = rulesByPkg.get(key) ?? new Set<string>();
    for (const r of m.rules) set.add(r.head.name);
    rulesByPkg.set(key, set);
  }
  const out: ResolvedRule[] = [];
  const metadata = indexMetadata(modules, packagePath);
  for (const m of modules) {
    const pkg = packagePath(m);
    const env: ModuleEnv = {
      pkg,
      metadata,
      ruleNames: rulesByPkg.get(pkg.join('.')) ?? new Set(),
      imports: importAliases(m.imports),
      opts,
    };
    for (const r of m.rules) out.push({ pkg, module: m, rule: resolveRule(r, { ...env, rule: r }, names) });
  }
  return out;
}

function importAliases(imports: Import[]): Map<string, RefTerm> {
  const out = new Map<string, RefTerm>();
  for (const imp of imports) {
    const head = imp.path.head;
    if (head.type !== 'var' || (head.name !== 'data' && head.name !== 'input')) continue;
    const last = imp.path.path[imp.path.path.length - 1];
    const alias = imp.alias ?? (last && last.type === 'string' ? last.value : head.name);
    out.set(alias, imp.path);
  }
  return out;
}

function resolveRule(r: Rule, env: ModuleEnv, names: LocalNames): Rule {
  const scope = new Scope(names);
  const args = r.head.args?.map((a) => {
    forEachVar(a, (n) => {
      if (n !== 'input' && n !== 'data' && !scope.has(n)) scope.declare(n);
    });
    return new Resolver(env, scope).term(a);
  });
  const headTerms: Term[] = [...r.head.ref.path];
  if (r.head.key) headTerms.push(r.head.key);
  if (r.head.value) headTerms.push(r.head.value);
  const rs = new Resolver(env, scope);
  const body = rs.body(r.body, headTerms);
  const head = {
    ...r.head,
    args,
    ref: { ...r.head.ref, path: r.head.ref.path.map((t) => rs.term(t)) },
    key: r.head.key && rs.term(r.head.key),
    value: r.head.value && rs.term(r.head.value),
  };
  return { ...r, head, body, else: r.else && resolveRule(r.else, env, names) };
}

class Resolver {
  constructor(
    private readonly env: ModuleEnv,
    private readonly scope: Scope,
  ) {}

  /** Declares the body's own variables in this scope, then rewrites it. */
  body(body: Body, extra: Term[] = []): Body {
    this.declareBodyVars(body, extra);
    const out = body.map((e) => this.expr(e));
    this.scope.names.declaredIn.set(out, this.scope.own());
    return out;
  }

  private declareBodyVars(body: Body, extra: Term[]): void {
    const declared = declaredVars(body);
    // Declared variables come into scope at their declaration (see `expr`); the others are the body's from the start.
    const implicit = (n: string): void => {
      if (declared.has(n) || this.scope.lookup(n) !== undefined || this.isGlobal(n)) return;
      this.scope.declare(n);
    };
    for (const e of body) {
      forEachExprVar({ ...e, with: [] }, implicit);
      for (const w of e.with) if (!this.namesBuiltin(w.value)) forEachVar(w.value, implicit);
    }
    for (const t of extra) forEachVar(t, implicit);
  }

  /** `with f as count`, `with f as strings.upper`: a builtin's name as the value is no variable. */
  private namesBuiltin(v: Term): boolean {
    if (v.type === 'var') return this.env.opts.isBuiltin(v.name);
    if (v.type !== 'ref' || v.head.type !== 'var' || v.path.length === 0 || this.env.ruleNames.has(v.head.name)) return false;
    return this.env.opts.isBuiltin(operatorNameOf(v)) || !this.env.imports.has(v.head.name);
  }

  /** Declares the variables of a declaration's target (`x := …`, `some x`, `some [a, b] in …`). */
  private declareAll(t: Term): void {
    forEachVar(t, (n, at) => {
      if (n.startsWith('$')) {
        if (!this.scope.has(n)) this.scope.declare(n);
        return;
      }
      if (n === 'input' || n === 'data') throw compileError('rego_compile_error', `variables must not shadow ${n}`, at.loc);
      if (this.scope.has(n)) throw compileError('rego_compile_error', `var ${n} assigned above`, at.loc);
      this.scope.declare(n);
    });
  }

  private isGlobal(n: string): boolean {
    return n === 'input' || n === 'data' || this.env.ruleNames.has(n) || this.env.imports.has(n);
  }

  expr(e: Expr): Expr {
    const w = e.with.map((m) => this.withMod(m));
    switch (e.type) {
      case 'term':
        return { ...e, with: w, term: this.term(e.term) };
      case 'call':
        return { ...this.callExpr(e), with: w };
      case 'some':
        for (const v of e.vars) this.declareAll(v);
        return { ...e, with: w, vars: e.vars.map((v) => this.term(v) as VarTerm) };
      case 'somein':
        return { ...this.someInExpr(e), with: w };
      case 'every':
        return { ...this.everyExpr(e), with: w };
    }
  }

  /** `x := v` declares the variables of `x` once `v` is resolved; other calls resolve their operator. */
  private callExpr(e: CallExpr): CallExpr {
    if (isOp(e.operator, 'assign') && e.args.length === 2) {
      checkAssignable(e.args[0] as Term);
      const rhs = this.term(e.args[1] as Term);
      this.declareAll(e.args[0] as Term);
      return { ...e, args: [this.term(e.args[0] as Term), rhs] };
    }
    const special = isOp(e.operator, 'eq');
    const operator = special ? e.operator : this.operator(e.operator);
    return { ...e, operator, args: e.args.map((a) => this.term(a)) };
  }

  private someInExpr(e: SomeInExpr): SomeInExpr {
    const collection = this.term(e.collection);
    if (e.key) this.declareAll(e.key);
    this.declareAll(e.value);
    return { ...e, key: e.key && this.term(e.key), value: this.term(e.value), collection };
  }

  /** The key and value of `every` are local to it; its body is a scope below them. */
  private everyExpr(e: EveryExpr): EveryExpr {
    const domain = this.term(e.domain);
    const inner = this.scope.child();
    const key = e.key && { ...e.key, name: inner.declare(e.key.name) };
    const value = { ...e.value, name: inner.declare(e.value.name) };
    const body = new Resolver(this.env, inner.child()).body(e.body);
    const own = this.scope.names.declaredIn.get(body);
    for (const n of inner.own()) own?.add(n);
    return { ...e, domain, key, value, body };
  }

  private withMod(m: WithModifier): WithModifier {
    const t = m.target;
    const root = t.head.type === 'var' ? t.head.name : '';
    const target = root === 'input' || root === 'data' ? t : this.operator(t);
    return { ...m, target, value: this.withValue(m.value) };
  }

  /** A with-value may name a function or builtin (`with f as g`). */
  private withValue(v: Term): Term {
    const ref = v.type === 'var' ? ({ type: 'ref', loc: v.loc, head: v, path: [] } as RefTerm) : v;
    if (ref.type === 'ref' && ref.head.type === 'var') {
      const head = ref.head.name;
      if (this.scope.lookup(head) === undefined && !this.isGlobal(head)) {
        const name = [head, ...ref.path.map((p) => (p.type === 'string' ? p.value : '?'))].join('.');
        // A dotted name that is no variable can only be a builtin (an unknown one fails as an undefined function).
        if (this.env.opts.isBuiltin(name) || (ref.path.length > 0 && ref.path.every((p) => p.type === 'string'))) {
          return { type: 'ref', loc: v.loc, head: { type: 'var', loc: v.loc, name: BUILTIN_REF + name }, path: [] };
        }
      }
    }
    return this.term(v);
  }

  /** Resolves a call operator to `data.…` (user function) or a builtin name. */
  operator(op: RefTerm): RefTerm {
    if (op.head.type !== 'var') throw compileError('rego_type_error', 'invalid call operator', op.loc);
    const n = op.head.name;
    if (this.scope.lookup(n) !== undefined) {
      throw compileError('rego_type_error', `undefined function ${n} (a variable is not a function)`, op.loc);
    }
    if (n === 'data' || this.env.ruleNames.has(n) || this.env.imports.has(n)) {
      const r = this.ref(op);
      if (r.type === 'ref') return r;
    }
    return op;
  }

  term(t: Term): Term {
    const resolve = TERM_RESOLVERS[t.type] as ((r: Resolver, t: Term) => Term) | undefined;
    return resolve === undefined ? t : resolve(this, t);
  }

  /** `rego.metadata.rule()` and `rego.metadata.chain()` become constants; other calls resolve their operator. */
  call(t: CallTerm): Term {
    const name = operatorName(t.operator);
    const rule = this.env.rule;
    const meta = name && rule && t.args.length === 0 ? metadataCall(name, this.env.metadata, { pkg: this.env.pkg, rule, loc: t.loc }) : undefined;
    if (meta) return meta;
    return { ...t, operator: this.operator(t.operator), args: t.args.map((a) => this.term(a)) };
  }

  /** A comprehension's body is a scope of its own; its head is resolved in it. */
  comprehension(t: ArrayComprehensionTerm | SetComprehensionTerm): Term {
    const r = new Resolver(this.env, this.scope.child());
    const body = r.body(t.body, [t.term]);
    return { ...t, body, term: r.term(t.term) };
  }

  objectComprehension(t: ObjectComprehensionTerm): Term {
    const r = new Resolver(this.env, this.scope.child());
    const body = r.body(t.body, [t.key, t.value]);
    return { ...t, body, key: r.term(t.key), value: r.term(t.value) };
  }

  variable(v: VarTerm): Term {
    const local = this.scope.lookup(v.name);
    if (local !== undefined) return { ...v, name: local };
    const global = this.global(v.name, v);
    if (global) return global;
    // A variable the pre-scan did not see (inside a template string): local to this scope.
    return { ...v, name: this.scope.declare(v.name) };
  }

  private global(n: string, at: Term): RefTerm | undefined {
    if (n === 'input' || n === 'data') return { type: 'ref', loc: at.loc, head: { type: 'var', loc: at.loc, name: n }, path: [] };
    if (this.env.ruleNames.has(n)) {
      const path = [...this.env.pkg, n].map((s) => ({ type: 'string' as const, loc: at.loc, value: s }));
      return { type: 'ref', loc: at.loc, head: { type: 'var', loc: at.loc, name: 'data' }, path };
    }
    const imp = this.env.imports.get(n);
    if (imp) return { ...imp, loc: at.loc };
    return undefined;
  }

  ref(r: RefTerm): Term {
    const path = r.path.map((p) => this.term(p));
    if (r.head.type === 'var' && this.scope.lookup(r.head.name) === undefined) {
      const g = this.global(r.head.name, r.head);
      if (g) return path.length === 0 && g.path.length === 0 ? g : { ...r, head: g.head, path: [...g.path, ...path] };
    }
    const head = this.term(r.head);
    if (head.type === 'ref') return { ...r, head: head.head, path: [...head.path, ...path] };
    return { ...r, head, path };
  }
}

type TermResolvers = { [K in Term['type']]?: (r: Resolver, t: Extract<Term, { type: K }>) => Term };

/** How each kind of term is resolved; scalars stay as they are. */
const TERM_RESOLVERS: TermResolvers = {
  var: (r, t) => r.variable(t),
  ref: (r, t) => r.ref(t),
  array: (r, t) => ({ ...t, items: t.items.map((i) => r.term(i)) }),
  set: (r, t) => ({ ...t, items: t.items.map((i) => r.term(i)) }),
  object: (r, t) => ({ ...t, items: t.items.map(([k, v]) => [r.term(k), r.term(v)] as [Term, Term]) }),
  call: (r, t) => r.call(t),
  arraycomprehension: (r, t) => r.comprehension(t),
  setcomprehension: (r, t) => r.comprehension(t),
  objectcomprehension: (r, t) => r.objectComprehension(t),
  templatestring: (r, t) => ({ ...t, parts: t.parts.map((p) => (p.type === 'string' ? p : r.expr(p))) }),
};

/** Variables a body declares: `some x`, `some k, v in …`, `x := …`. */
function declaredVars(body: Body): Set<string> {
  const declared = new Set<string>();
  const add = (n: string): void => {
    declared.add(n);
  };
  for (const e of body) {
    if (e.type === 'some') for (const v of e.vars) add(v.name);
    if (e.type === 'somein') {
      if (e.key) forEachVar(e.key, add);
      forEachVar(e.value, add);
    }
    if (e.type === 'call' && isOp(e.operator, 'assign') && e.args[0]) forEachVar(e.args[0], add);
  }
  return declared;
}

export function isOp(op: RefTerm, name: string): boolean {
  return op.head.type === 'var' && op.head.name === name && op.path.length === 0;
}

function operatorNameOf(r: RefTerm): string {
  const head = r.head.type === 'var' ? r.head.name : '';
  return [head, ...r.path.map((p) => (p.type === 'string' ? p.value : '?'))].join('.');
}

/**
 * The left of `:=` is variables, in arrays and object values if need be: a
 * constant, ref or call there is refused as OPA refuses it (`[false, e] :=
 * …`: cannot assign to boolean), where `=` would compare it.
 */
function checkAssignable(t: Term): void {
  switch (t.type) {
    case 'var':
      return;
    case 'array':
      t.items.forEach(checkAssignable);
      return;
    case 'object':
      t.items.forEach(([, v]) => checkAssignable(v));
      return;
    default:
      throw compileError('rego_compile_error', `cannot assign to ${t.type}`, t.loc);
  }
}
