/**
 * The types of a policy's documents for the type check: each package's
 * rules, by name, typed from their definitions (complete rules: the union of
 * their values, default and else values included; `contains` rules: a set;
 * `p[k] := v`: an object; functions: the union of their results). Types are
 * computed on demand, once, and a rule that depends on itself is `any`.
 */
import type { Module, Rule } from '../ast.ts';
import { importName } from '../parser/v1-checks.ts';
import { TypeChecker, type Globals, type HeadTypes } from './type-check.ts';
import { ANY, union, type RegoType } from './types.ts';

interface PackageInfo {
  /** Rules of the package by the first segment of their head. */
  rules: Map<string, Array<{ rule: Rule; checker: TypeChecker }>>;
}

function packageKey(m: Module): string {
  return m.package.path.path.map((t) => (t.type === 'string' ? t.value : '\u0000')).join('.');
}

export class PolicyTypes {
  private readonly packages = new Map<string, PackageInfo>();
  private readonly memo = new Map<string, RegoType>();
  private readonly inProgress = new Set<string>();
  /** One checker per module, seeing the module's package and imports. */
  readonly checkers = new Map<Module, TypeChecker>();

  constructor(modules: Module[]) {
    for (const m of modules) {
      const key = packageKey(m);
      if (!this.packages.has(key)) this.packages.set(key, { rules: new Map() });
    }
    for (const m of modules) {
      const checker = new TypeChecker(this.globalsFor(m));
      this.checkers.set(m, checker);
      const rules = this.packages.get(packageKey(m))!.rules;
      for (const rule of m.rules) {
        const list = rules.get(rule.head.name) ?? [];
        list.push({ rule, checker });
        rules.set(rule.head.name, list);
      }
    }
  }

  private globalsFor(m: Module): Globals {
    const pkg = packageKey(m);
    const imports = new Map(m.imports.map((i) => [importName(i), i]));
    const localRules = (): PackageInfo['rules'] => this.packages.get(pkg)!.rules;
    const shadowed = (first: string): boolean => localRules().has(first) || imports.has(first) || first === 'data' || first === 'input';
    return {
      isBuiltin: (name) => !shadowed(name.split('.', 1)[0]!),
      nameType: (name) => {
        const imp = imports.get(name);
        if (imp !== undefined) {
          const head = imp.path.head.type === 'var' ? imp.path.head.name : '';
          if (head !== 'data') return ANY;
          const path = imp.path.path.map((t) => (t.type === 'string' ? t.value : '\u0000'));
          const found = this.dataType(path);
          return found !== undefined && found.consumed === path.length ? found.type : ANY;
        }
        return localRules().has(name) ? this.ruleSetType(pkg, name, 'document') : ANY;
      },
      dataType: (path) => this.dataType(path),
      functionResult: (name) => {
        const parts = name.split('.');
        if (parts[0] === 'data') {
          const found = this.locate(parts.slice(1));
          return found !== undefined && found.consumed === parts.length - 1 ? this.ruleSetType(found.pkg, found.name, 'function') : ANY;
        }
        return parts.length === 1 && localRules().has(name) ? this.ruleSetType(pkg, name, 'function') : ANY;
      },
    };
  }

  /** The package (longest prefix of `path`) and rule name that `data.<path>` names. */
  private locate(path: string[]): { pkg: string; name: string; consumed: number } | undefined {
    for (let n = path.length - 1; n >= 1; n--) {
      const pkg = path.slice(0, n).join('.');
      const info = this.packages.get(pkg);
      if (info === undefined) continue;
      const name = path[n]!;
      return info.rules.has(name) ? { pkg, name, consumed: n + 1 } : undefined;
    }
    return undefined;
  }

  dataType(path: string[]): { type: RegoType; consumed: number } | undefined {
    const found = this.locate(path);
    if (found === undefined) return undefined;
    return { type: this.ruleSetType(found.pkg, found.name, 'document'), consumed: found.consumed };
  }

  /** The type of the rules named `name` in `pkg`: as a document, or as a function's result. */
  private ruleSetType(pkg: string, name: string, as: 'document' | 'function'): RegoType {
    const key = `${as}\u0000${pkg}\u0000${name}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    if (this.inProgress.has(key)) return ANY;
    this.inProgress.add(key);
    try {
      const type = this.computeRuleSetType(this.packages.get(pkg)?.rules.get(name) ?? [], as);
      this.memo.set(key, type);
      return type;
    } finally {
      this.inProgress.delete(key);
    }
  }

  private computeRuleSetType(entries: Array<{ rule: Rule; checker: TypeChecker }>, as: 'document' | 'function'): RegoType {
    const parts: RegoType[] = [];
    for (const { rule, checker } of entries) {
      if ((rule.kind === 'function') !== (as === 'function')) return ANY;
      for (let r: Rule | undefined = rule; r !== undefined; r = r.else) {
        const t = documentType(rule, checker.headTypes(r));
        if (t === undefined) return ANY;
        parts.push(t);
      }
    }
    return parts.length === 0 ? ANY : union(parts);
  }
}

/**
 * The type of the document one link of `rule` builds, from its head types:
 * a set, a value, or an object for `p[k] := v`; undefined for deeper refs.
 */
function documentType(rule: Rule, t: HeadTypes): RegoType | undefined {
  const depth = rule.head.ref.path.length;
  if (depth === 0) return rule.kind === 'multi' ? { kind: 'set', of: t.key } : t.value;
  if (rule.kind === 'single' && depth === 1) return { kind: 'object', key: t.pathKey, value: t.value };
  return undefined;
}
