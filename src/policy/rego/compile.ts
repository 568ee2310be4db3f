/**
 * Rego modules → OPA IR: the compile passes and the planner, as one pure
 * function. Passes, in order: the static type check (`rego_type_error`),
 * name resolution and local rewriting, rule
 * indexing (kind and arity conflicts), call checks against the builtin
 * table, recursion detection, safety analysis with body reordering, then
 * planning of the entrypoints and every rule they reach.
 */
import type { Module, Rule } from './ast.ts';
import { BUILTINS, REPLACEABLE_ONLY } from './builtins.ts';
import { checkTypes } from './check/index.ts';
import type { Policy } from './ir.ts';
import { checkCalls } from './plan/calls.ts';
import { planPolicy } from './plan/planner.ts';
import { checkRecursion } from './plan/recursion.ts';
import { packagePath, resolveModules, type ResolvedRule } from './plan/resolve.ts';
import { indexRules } from './plan/rule-index.ts';
import { reorderRule } from './plan/safety.ts';
import { checkDeclaredVars } from './plan/declared.ts';
import { LocalNames } from './plan/scope.ts';
import { operatorName } from './ast.ts';

export interface PlanOptions {
  /** Arity of a supported builtin, undefined when unknown. Defaults to the runtime's builtin table. */
  builtinArity?: (name: string) => number | undefined;
}

export function defaultBuiltinArity(name: string): number | undefined {
  return Object.hasOwn(BUILTINS, name) ? BUILTINS[name]?.arity : undefined;
}

/**
 * Plans `modules` for the given entrypoints (`pkg/rule` paths below
 * `data`). Throws a PortcullisError (REGO_*) carrying OPA's error code for
 * programs OPA would reject.
 */
export function planModules(modules: Module[], entrypoints: string[], options: PlanOptions = {}): Policy {
  checkTypes(modules);
  const builtinArity = options.builtinArity ?? defaultBuiltinArity;
  // Names a `with` may replace: the supported builtins and OPA's others; planning calls only the supported ones.
  const knownArity = (n: string): number | undefined => builtinArity(n) ?? (Object.hasOwn(REPLACEABLE_ONLY, n) ? REPLACEABLE_ONLY[n] : undefined);
  const names = new LocalNames();
  const resolved = resolveModules(modules, names, { isBuiltin: (n) => knownArity(n) !== undefined });
  for (const r of resolved) checkDeclaredVars(r.rule, names);
  const index = indexRules(resolved, modules.map(packagePath));
  checkCalls(
    index,
    resolved.map((r) => r.rule),
    knownArity,
  );
  checkRecursion(index);
  const arity = (op: Parameters<typeof operatorName>[0]): number | undefined => {
    const name = operatorName(op);
    if (name === undefined) return undefined;
    if (name.startsWith('data.')) return index.byPath.get(name.split('.').slice(1).join('\u0000'))?.arity;
    return knownArity(name);
  };
  const reorder = (r: ResolvedRule): ResolvedRule => ({ ...r, rule: reorderRule(r.rule, { names, arity }) });
  for (const set of index.byPath.values()) {
    set.rules = set.rules.map((r) => ({ ...reorder(r), keys: r.keys }));
    if (set.defaultRule) set.defaultRule = reorder(set.defaultRule);
  }
  const files = modules.map((m) => m.file);
  return planPolicy({ index, names, files, builtinArity }, entrypoints);
}

/**
 * Entrypoints the modules declare themselves with `entrypoint: true` in a
 * `# METADATA` block (as `opa build` reads them): `pkg/rule` for a rule,
 * `pkg` for a package. In source order, without duplicates.
 */
export function annotatedEntrypoints(modules: Module[]): string[] {
  const out: string[] = [];
  const add = (path: string[]): void => {
    const ep = path.join('/');
    if (!out.includes(ep)) out.push(ep);
  };
  for (const m of modules) {
    const pkg = packagePath(m);
    if ((m.package.annotations ?? []).some((a) => a.entrypoint === true)) add(pkg);
    for (const r of m.rules) {
      if ((r.annotations ?? []).some((a) => a.entrypoint === true)) add([...pkg, r.head.name, ...groundPrefix(r)]);
    }
  }
  return out;
}

/** The string keys a rule's head ref starts with (`p.a.b[x]`: a, b). */
function groundPrefix(r: Rule): string[] {
  const ground: string[] = [];
  for (const t of r.head.ref.path) {
    if (t.type !== 'string') break;
    ground.push(t.value);
  }
  return ground;
}
