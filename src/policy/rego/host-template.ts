/**
 * strings.render_template(template, vars) on the host: the part of Go's
 * text/template that message templates use — {{.field}} paths, variables
 * ($, $x, $x.field), {{if}} / {{else}} / {{end}}, {{range .list}} and
 * {{range $i, $v := .list}}, literals, and {{- -}} trimming. A missing field
 * renders as "<undefined>", as OPA renders it; anything else is an error.
 */
type Scope = { dot: unknown; vars: Map<string, unknown> };

const BUILTIN = 'strings.render_template';
const MISSING = Symbol('missing');

function fail(message: string): never {
  throw new Error(`eval_builtin_error: ${BUILTIN}: ${message}`);
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; expr: string }
  | { kind: 'if'; expr: string; then: Node[]; else: Node[] }
  | { kind: 'range'; expr: string; key?: string; value?: string; body: Node[]; else: Node[] };

/** Splits text and actions, applying {{- and -}} trimming. */
function tokens(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src.startsWith('- ', start)) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    const close = src.indexOf('}}', start);
    if (close < 0) fail('unclosed action');
    let end = close;
    let next = close + 2;
    if (src[close - 1] === '-' && src[close - 2] === ' ') {
      end = close - 2;
      const m = /^\s*/.exec(src.slice(next))!;
      next += m[0].length;
    }
    out.push({ text }, { action: src.slice(start, end).trim() });
    i = next;
  }
  return out.filter((t) => t.action !== undefined || t.text);
}

type Token = { text?: string; action?: string };

function parse(toks: Token[], at: { i: number }, stops: string[]): { nodes: Node[]; stop: string } {
  const nodes: Node[] = [];
  while (at.i < toks.length) {
    const t = toks[at.i++]!;
    if (t.text !== undefined) {
      nodes.push({ kind: 'text', text: t.text });
      continue;
    }
    const a = t.action!;
    if (a === 'end' || a === 'else') {
      if (!stops.includes(a)) fail(`unexpected {{${a}}}`);
      return { nodes, stop: a };
    }
    if (a.startsWith('if ') || a.startsWith('range ')) nodes.push(parseBlock(a, toks, at));
    else if (!a.startsWith('/*')) nodes.push({ kind: 'print', expr: a });
  }
  if (stops.length) fail('missing {{end}}');
  return { nodes, stop: '' };
}

/** `{{if x}}` or `{{range [$k, ]$v := x}}`, its body, and its `{{else}}` part up to `{{end}}`. */
function parseBlock(a: string, toks: Token[], at: { i: number }): Node {
  const isIf = a.startsWith('if ');
  let expr = a.slice(isIf ? 3 : 6).trim();
  let key: string | undefined;
  let value: string | undefined;
  const decl = /^(\$\w*)(?:\s*,\s*(\$\w*))?\s*:=\s*(.+)$/.exec(expr);
  if (!isIf && decl) {
    [key, value] = decl[2] ? [decl[1], decl[2]] : [undefined, decl[1]];
    expr = decl[3]!;
  }
  const body = parse(toks, at, ['else', 'end']);
  const other = body.stop === 'else' ? parse(toks, at, ['end']).nodes : [];
  return isIf ? { kind: 'if', expr, then: body.nodes, else: other } : { kind: 'range', expr, key, value, body: body.nodes, else: other };
}

function lookup(base: unknown, path: string[]): unknown {
  let v = base;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !(p in (v as object))) return MISSING;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function evaluate(expr: string, scope: Scope): unknown {
  const e = expr.trim();
  if (e === '.') return scope.dot;
  const constant = literal(e);
  if (constant !== undefined) return constant.value;
  const field = /^\.([\w.]+)$/.exec(e);
  if (field) return lookup(scope.dot, field[1]!.split('.'));
  const variable = /^(\$\w*)((?:\.\w+)*)$/.exec(e);
  if (!variable) return fail(`unsupported action {{${expr}}}`);
  if (!scope.vars.has(variable[1]!)) fail(`undefined variable ${variable[1]}`);
  const base = scope.vars.get(variable[1]!);
  return variable[2] ? lookup(base, variable[2].slice(1).split('.')) : base;
}

/** A string, number, boolean or nil literal; undefined for anything else. */
function literal(e: string): { value: unknown } | undefined {
  if (/^"(?:[^"\\]|\\.)*"$/.test(e)) return { value: JSON.parse(e) };
  if (/^-?\d+(\.\d+)?$/.test(e)) return { value: Number(e) };
  if (e === 'true' || e === 'false') return { value: e === 'true' };
  if (e === 'nil') return { value: null };
  return undefined;
}

function truthy(v: unknown): boolean {
  if (v === MISSING || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** Go's %v of a JSON value. */
function show(v: unknown): string {
  if (v === MISSING) return '<undefined>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v).replace(/e\+?(-?)(\d)$/, 'e$1+0$2').replace('e+-', 'e-');
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o).sort().map((k) => `${k}:${show(o[k])}`).join(' ')}]`;
}

function render(nodes: Node[], scope: Scope, out: string[]): void {
  for (const n of nodes) {
    if (n.kind === 'text') out.push(n.text);
    else if (n.kind === 'print') out.push(show(evaluate(n.expr, scope)));
    else if (n.kind === 'if') render(truthy(evaluate(n.expr, scope)) ? n.then : n.else, scope, out);
    else renderRange(n, scope, out);
  }
}

/** The body once per entry (arrays by index, objects by sorted key), or the `else` part when there is none. */
function renderRange(n: Extract<Node, { kind: 'range' }>, scope: Scope, out: string[]): void {
  const entries = rangeEntries(evaluate(n.expr, scope));
  if (entries.length === 0) render(n.else, scope, out);
  for (const [k, v] of entries) {
    const vars = new Map(scope.vars);
    if (n.key) vars.set(n.key, k);
    if (n.value) vars.set(n.value, v);
    render(n.body, { dot: v, vars }, out);
  }
}

function rangeEntries(coll: unknown): [unknown, unknown][] {
  if (Array.isArray(coll)) return coll.map((v, i) => [i, v]);
  if (coll === null || typeof coll !== 'object') return [];
  return Object.keys(coll).sort().map((k) => [k, (coll as Record<string, unknown>)[k]]);
}

export function renderTemplate(template: unknown, vars: unknown): string {
  if (typeof template !== 'string') fail('operand 1 must be string');
  if (vars === null || typeof vars !== 'object' || Array.isArray(vars)) fail('operand 2 must be object');
  const { nodes } = parse(tokens(template), { i: 0 }, []);
  const out: string[] = [];
  render(nodes, { dot: vars, vars: new Map([['$', vars]]) }, out);
  return out.join('');
}
