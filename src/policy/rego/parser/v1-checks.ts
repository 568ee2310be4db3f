/**
 * The checks OPA 1.x makes on every module it parses as Rego v1, beyond the
 * grammar: no import may shadow another, and nothing may shadow the root
 * documents `input` and `data` (rule names, function arguments, `:=`
 * targets). OPA reports these as `rego_compile_error` from its parser, so
 * they run at the end of `parseModule` and raise REGO_COMPILE.
 */
import { ErrorCodes, PortcullisError } from '../../../errors.ts';
import type { Body, Expr, Import, Location, Module, Rule, Term } from '../ast.ts';
import { operatorName } from '../ast.ts';
import { exprParts, termParts, type Parts } from '../ast-parts.ts';

interface Finding {
  loc: Location;
  message: string;
}

const ROOTS = new Set(['input', 'data']);

/** Throws a REGO_COMPILE PortcullisError for the first finding, listing all of them in details. */
export function checkModuleV1(module: Module): void {
  const findings = [...duplicateImports(module.imports), ...rootDocumentOverrides(module)];
  if (findings.length === 0) return;
  findings.sort((a, b) => a.loc.offset - b.loc.offset);
  const first = findings[0]!;
  const where = (l: Location): string => `${l.file}:${l.row}:${l.col}`;
  throw new PortcullisError(ErrorCodes.REGO_COMPILE, `${where(first.loc)}: rego_compile_error: ${first.message}`, {
    opaCode: 'rego_compile_error',
    file: first.loc.file,
    row: first.loc.row,
    col: first.loc.col,
    errors: findings.map((f) => ({ file: f.loc.file, row: f.loc.row, col: f.loc.col, message: f.message })),
  });
}

/** The name an import binds: its alias, else the last segment of its path. */
export function importName(imp: Import): string {
  if (imp.alias !== undefined) return imp.alias;
  const last = imp.path.path[imp.path.path.length - 1];
  if (last === undefined) return imp.path.head.type === 'var' ? imp.path.head.name : '';
  return last.type === 'string' ? last.value : '';
}

function showImport(imp: Import): string {
  const path = [imp.path.head.type === 'var' ? imp.path.head.name : '?', ...imp.path.path.map((p) => (p.type === 'string' ? p.value : '?'))];
  return `import ${path.join('.')}${imp.alias === undefined ? '' : ` as ${imp.alias}`}`;
}

function duplicateImports(imports: Import[]): Finding[] {
  const seen = new Map<string, Import>();
  const out: Finding[] = [];
  for (const imp of imports) {
    const name = importName(imp);
    const earlier = seen.get(name);
    if (earlier !== undefined) out.push({ loc: imp.loc, message: `import must not shadow ${showImport(earlier)}` });
    else seen.set(name, imp);
  }
  return out;
}

/** `input` or `data` on its own (the parser makes these refs with an empty path). */
function rootName(t: Term | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (t.type === 'ref' && t.path.length === 0 && t.head.type === 'var' && ROOTS.has(t.head.name)) return t.head.name;
  if (t.type === 'var' && ROOTS.has(t.name)) return t.name;
  return undefined;
}

function rootDocumentOverrides(module: Module): Finding[] {
  const out: Finding[] = [];
  forEachRule(module, (r) => out.push(...headOverrides(r)));
  forEachExpr(module, (e) => {
    if (e.type !== 'call' || operatorName(e.operator) !== 'assign') return;
    const root = rootName(e.args[0]);
    if (root !== undefined) out.push({ loc: e.loc, message: `variables must not shadow ${root} (use a different variable name)` });
  });
  return out;
}

/** A rule named `input` or `data`, or a function argument of that name. */
function headOverrides(r: Rule): Finding[] {
  const out: Finding[] = [];
  if (ROOTS.has(r.head.name)) out.push({ loc: r.loc, message: `rules must not shadow ${r.head.name} (use a different rule name)` });
  for (const arg of r.head.args ?? []) {
    const root = rootName(arg);
    if (root !== undefined) out.push({ loc: arg.loc, message: `args must not shadow ${root} (use a different variable name)` });
  }
  return out;
}

/** Visits every rule of the module, each `else` link included. */
function forEachRule(module: Module, visit: (r: Rule) => void): void {
  for (const rule of module.rules) {
    for (let r: Rule | undefined = rule; r !== undefined; r = r.else) visit(r);
  }
}

/** Visits every expression of the module: rule bodies, else links, and bodies nested in terms. */
export function forEachExpr(module: Module, visit: (e: Expr) => void): void {
  const walk = (p: Parts): void => {
    p.terms.forEach(term);
    p.bodies.forEach(body);
    p.exprs.forEach(expr);
  };
  const body = (b: Body): void => {
    for (const e of b) expr(e);
  };
  const expr = (e: Expr): void => {
    visit(e);
    walk(exprParts(e));
    for (const w of e.with) term(w.value);
  };
  const term = (t: Term): void => walk(termParts(t));
  forEachRule(module, (r) => {
    const h = r.head;
    [h.ref, ...(h.args ?? []), ...(h.key ? [h.key] : []), ...(h.value ? [h.value] : [])].forEach(term);
    body(r.body);
  });
}
