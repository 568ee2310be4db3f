/**
 * A compact rendering of the AST for assertions: infix operators appear as
 * the builtin calls they became (`plus(1, mul(2, 3))`), so a test states
 * the tree's shape in one readable line.
 */
import type { Body, Expr, Rule, Term } from '../../../../src/policy/rego/ast.ts';
import { operatorName } from '../../../../src/policy/rego/ast.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function renderTerm(t: Term): string {
  switch (t.type) {
    case 'null':
      return 'null';
    case 'boolean':
      return String(t.value);
    case 'number':
      return t.value;
    case 'string':
      return JSON.stringify(t.value);
    case 'var':
      return t.name;
    case 'ref':
      return renderTerm(t.head) + t.path.map((p) => (p.type === 'string' && IDENT.test(p.value) ? `.${p.value}` : `[${renderTerm(p)}]`)).join('');
    case 'array':
      return `[${t.items.map(renderTerm).join(', ')}]`;
    case 'set':
      return t.items.length === 0 ? 'set()' : `{${t.items.map(renderTerm).join(', ')}}`;
    case 'object':
      return `{${t.items.map(([k, v]) => `${renderTerm(k)}: ${renderTerm(v)}`).join(', ')}}`;
    case 'arraycomprehension':
      return `[${renderTerm(t.term)} | ${renderBody(t.body)}]`;
    case 'setcomprehension':
      return `{${renderTerm(t.term)} | ${renderBody(t.body)}}`;
    case 'objectcomprehension':
      return `{${renderTerm(t.key)}: ${renderTerm(t.value)} | ${renderBody(t.body)}}`;
    case 'call':
      return `${operatorName(t.operator) ?? renderTerm(t.operator)}(${t.args.map(renderTerm).join(', ')})`;
    case 'templatestring':
      return `$"${t.parts.map((p) => ('term' in p || 'operator' in p || 'vars' in p || 'domain' in p || 'collection' in p ? `{${renderExpr(p as Expr)}}` : (p as { value: string }).value)).join('')}"`;
  }
}

export function renderExpr(e: Expr): string {
  let s: string;
  switch (e.type) {
    case 'term':
      s = renderTerm(e.term);
      break;
    case 'call':
      s = `${operatorName(e.operator) ?? renderTerm(e.operator)}(${e.args.map(renderTerm).join(', ')})`;
      break;
    case 'some':
      s = `some ${e.vars.map(renderTerm).join(', ')}`;
      break;
    case 'somein':
      s = `some ${e.key === undefined ? '' : renderTerm(e.key) + ', '}${renderTerm(e.value)} in ${renderTerm(e.collection)}`;
      break;
    case 'every':
      s = `every ${e.key === undefined ? '' : renderTerm(e.key) + ', '}${renderTerm(e.value)} in ${renderTerm(e.domain)} { ${renderBody(e.body)} }`;
      break;
  }
  if (e.negated) s = `not ${s}`;
  for (const w of e.with) s += ` with ${renderTerm(w.target)} as ${renderTerm(w.value)}`;
  return s;
}

export function renderBody(b: Body): string {
  return b.map(renderExpr).join('; ');
}

/** `default? ref(args) contains key | = value :- body [else …]` */
export function renderRule(r: Rule): string {
  const h = r.head;
  let s = r.default ? 'default ' : '';
  s += renderTerm(h.ref);
  if (h.args !== undefined) s += `(${h.args.map(renderTerm).join(', ')})`;
  if (h.key !== undefined) s += ` contains ${renderTerm(h.key)}`;
  if (h.value !== undefined) s += ` ${h.assign ? ':=' : '='} ${renderTerm(h.value)}`;
  s += ` :- ${renderBody(r.body)}`;
  if (r.else !== undefined) s += ` else ${renderRule(r.else)}`;
  return s;
}
