/**
 * OPA's YAML conformance cases: loading them, and turning each case's query
 * into entrypoints plus a way to read the variable bindings out of the
 * entrypoints' results. Pure apart from reading files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface ConformanceCase {
  file: string;
  folder: string;
  note: string;
  query: string;
  modules: string[];
  data?: Record<string, unknown>;
  input?: unknown;
  input_term?: string;
  want_result?: Record<string, unknown>[];
  want_defined?: boolean;
  want_error_code?: string;
  want_error?: string;
  strict_error?: boolean;
  sort_bindings?: boolean;
  /** Set when the case's file could not be read: why. */
  unreadable?: string;
}

/** folder → group (core | core-ops | builtin), from GROUPS.txt. */
export async function readGroups(dir: string): Promise<Map<string, string>> {
  const groups = new Map<string, string>();
  const text = await readFile(join(dir, 'GROUPS.txt'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 4) groups.set(cols[0]!, cols[3]!);
  }
  return groups;
}

export async function readCases(dir: string, folders: string[]): Promise<ConformanceCase[]> {
  const cases: ConformanceCase[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const folder of entries) {
    if (folders.length > 0 && !folders.includes(folder)) continue;
    for (const name of (await readdir(join(dir, folder))).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const file = `${folder}/${name}`;
      let doc: { cases?: Omit<ConformanceCase, 'file' | 'folder'>[] } | undefined;
      try {
        doc = parseYaml(await readFile(join(dir, folder, name), 'utf8')) as typeof doc;
      } catch (e) {
        // An unreadable file fails as one case instead of stopping the run.
        cases.push({ file, folder, note: `${file} (unreadable)`, query: '', modules: [], unreadable: (e as Error).message });
        continue;
      }
      for (const c of doc?.cases ?? []) cases.push({ ...c, modules: c.modules ?? [], file, folder });
    }
  }
  return cases;
}

/** One side of `lhs = rhs` in a query. */
export type QueryTerm =
  | { kind: 'ref'; path: string[]; key?: { var: string } | { value: unknown } }
  | { kind: 'var'; name: string }
  | { kind: 'value'; value: unknown }
  | { kind: 'input' };

export interface QueryPlan {
  entrypoints: string[];
  conjuncts: [QueryTerm, QueryTerm][];
}

export class Unsupported extends Error {}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits on `;` and newlines outside string literals. */
export function splitConjuncts(query: string): string[] {
  const parts: string[] = [];
  let current = '';
  let inString = false;
  for (let i = 0; i < query.length; i++) {
    const ch = query[i]!;
    if (inString) {
      current += ch;
      if (ch === '\\') current += query[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      current += ch;
    } else if (ch === ';' || ch === '\n') {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** The position of the top-level `=` (not part of `==`, `!=`, `:=`, `<=`, `>=`), outside strings and brackets. */
function topLevelEquals(expr: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if ('[{('.includes(ch)) depth++;
    else if (']})'.includes(ch)) depth--;
    else if (ch === '=' && depth === 0 && !'=!:<>'.includes(expr[i - 1] ?? '') && expr[i + 1] !== '=') return i;
  }
  return -1;
}

function parseTerm(text: string): QueryTerm {
  const t = text.trim();
  if (t === 'input') return { kind: 'input' };
  if (t.startsWith('$"')) throw new Unsupported('template strings are a query form, not an entrypoint');
  if (t === 'data') throw new Unsupported('the whole data document is not an entrypoint');
  if (t.startsWith('data.') || t.startsWith('data[')) return parseRef(t);
  if (IDENT.test(t) && !['true', 'false', 'null'].includes(t)) return { kind: 'var', name: t };
  try {
    return { kind: 'value', value: JSON.parse(t) };
  } catch {
    throw new Unsupported(`query term "${t}" is neither a data reference, a variable nor a JSON value`);
  }
}

function parseRef(text: string): QueryTerm {
  const path: string[] = [];
  let rest = text.slice('data'.length);
  while (rest.length > 0) {
    const dot = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    if (dot) {
      path.push(dot[1]!);
      rest = rest.slice(dot[0].length);
      continue;
    }
    const str = /^\["((?:[^"\\]|\\.)*)"\]/.exec(rest);
    if (str) {
      path.push(JSON.parse(`"${str[1]}"`) as string);
      rest = rest.slice(str[0].length);
      continue;
    }
    if (rest.startsWith('(')) throw new Unsupported('a function call is not an entrypoint');
    const bracket = /^\[(.*)\]$/.exec(rest);
    if (!bracket || path.length === 0) throw new Unsupported(`reference "${text}" cannot be an entrypoint`);
    const inner = bracket[1]!.trim();
    if (IDENT.test(inner) && !['true', 'false', 'null'].includes(inner)) return { kind: 'ref', path, key: { var: inner } };
    try {
      return { kind: 'ref', path, key: { value: JSON.parse(inner) } };
    } catch {
      throw new Unsupported(`reference key "${inner}" is not a JSON value`);
    }
  }
  return { kind: 'ref', path };
}

/** Throws Unsupported when the query cannot be answered through entrypoints. */
export function planQuery(query: string): QueryPlan {
  const conjuncts: [QueryTerm, QueryTerm][] = [];
  for (const expr of splitConjuncts(query)) {
    const eq = topLevelEquals(expr);
    if (eq < 0) throw new Unsupported(`query expression "${expr}" is not of the form ref = term`);
    const lhs = parseTerm(expr.slice(0, eq));
    const rhs = parseTerm(expr.slice(eq + 1));
    if (lhs.kind === 'ref') conjuncts.push([lhs, rhs]);
    else if (rhs.kind === 'ref') conjuncts.push([rhs, lhs]);
    else throw new Unsupported(`query expression "${expr}" has no data reference`);
  }
  const entrypoints = [...new Set(conjuncts.map(([ref]) => (ref as { path: string[] }).path.join('/')))];
  for (const e of entrypoints) {
    if (!e.split('/').every((s) => IDENT.test(s))) throw new Unsupported(`path "${e}" has segments an entrypoint cannot name`);
  }
  return { entrypoints, conjuncts };
}

/** A Rego term in JSON form: trailing commas are tolerated; sets are not (JSON input cannot carry one). */
export function inputTermToJson(term: string): unknown {
  if (/\bset\(\)/.test(term)) throw new Unsupported('input_term holds a set, which a JSON input cannot carry');
  try {
    return JSON.parse(term.replace(/,(\s*[}\]])/g, '$1'));
  } catch {
    throw new Unsupported('input_term is not JSON (it holds a set or another Rego-only term)');
  }
}
