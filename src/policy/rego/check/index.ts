/**
 * Compile-time checks on parsed modules that OPA makes and the planner does
 * not: today the conservative type check (`rego_type_error`). Pure; throws a
 * PortcullisError REGO_TYPE for the first finding, all of them in details.
 */
import { ErrorCodes, PortcullisError } from '../../../errors.ts';
import type { Module } from '../ast.ts';
import { PolicyTypes } from './policy-types.ts';
import type { TypeFinding } from './type-check.ts';

/** Every type finding in `modules`, in source order per module. */
export function findTypeErrors(modules: Module[]): TypeFinding[] {
  const types = new PolicyTypes(modules);
  const findings: TypeFinding[] = [];
  for (const m of modules) {
    const checker = types.checkers.get(m)!;
    for (const r of m.rules) checker.checkRule(r);
    findings.push(...checker.findings.sort((a, b) => a.loc.offset - b.loc.offset));
    checker.findings.length = 0;
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
