/**
 * Compile-time checks on parsed modules that OPA makes and the planner does
 * not: today the conservative type check (`rego_type_error`). Pure; throws a
 * PortcullisError REGO_TYPE for the first finding, all of them in details.
 */
import { ErrorCodes, PortcullisError } from '../../../errors.ts';
import type { Module } from '../ast.ts';
import { importName } from '../parser/v1-checks.ts';
import { TypeChecker, type TypeFinding } from './type-check.ts';

/** Every type finding in `modules`, in source order per module. */
export function findTypeErrors(modules: Module[]): TypeFinding[] {
  const rulesByPackage = new Map<string, Set<string>>();
  const pkgKey = (m: Module): string => m.package.path.path.map((t) => (t.type === 'string' ? t.value : '?')).join('.');
  for (const m of modules) {
    const names = rulesByPackage.get(pkgKey(m)) ?? new Set<string>();
    for (const r of m.rules) names.add(r.head.name);
    rulesByPackage.set(pkgKey(m), names);
  }
  const findings: TypeFinding[] = [];
  for (const m of modules) {
    const rules = rulesByPackage.get(pkgKey(m))!;
    const imports = new Set(m.imports.map(importName));
    // `count(x)` is the builtin unless a rule or an import of the module's scope takes the name.
    const isBuiltin = (name: string): boolean => {
      const first = name.split('.', 1)[0]!;
      return !rules.has(first) && !imports.has(first) && first !== 'data' && first !== 'input';
    };
    const checker = new TypeChecker(isBuiltin);
    for (const r of m.rules) checker.checkRule(r);
    findings.push(...checker.findings.sort((a, b) => a.loc.offset - b.loc.offset));
  }
  return findings;
}

export function checkTypes(modules: Module[]): void {
  const findings = findTypeErrors(modules);
  const first = findings[0];
  if (first === undefined) return;
  throw new PortcullisError(
    ErrorCodes.REGO_TYPE,
    `${first.loc.file}:${first.loc.row}:${first.loc.col}: rego_type_error: ${first.message}`,
    {
      opaCode: 'rego_type_error',
      file: first.loc.file,
      row: first.loc.row,
      col: first.loc.col,
      errors: findings.map((f) => ({ file: f.loc.file, row: f.loc.row, col: f.loc.col, message: f.message })),
    },
  );
}
