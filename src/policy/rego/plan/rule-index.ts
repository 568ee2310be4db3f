/**
 * Rule indexing: groups resolved rules by the path of the document they
 * define, checks that the definitions agree on their kind (complete value,
 * set, object, function and its arity), and arranges the paths in a tree so
 * that refs into `data` can be split into virtual and base parts.
 */
import type { Term } from '../ast.ts';
import { compileError } from './errors.ts';
import type { ResolvedRule } from './resolve.ts';

export type RuleSetKind = 'complete' | 'set' | 'object' | 'function';

export interface IndexedRule extends ResolvedRule {
  /**
   * For `object` rules: the keys below the rule set's path, from the first
   * head ref element that is not a constant string (`p[x]` has `[x]`,
   * `p[x].q` has `[x, "q"]`).
   */
  keys?: Term[];
}

export interface RuleSet {
  /** Path below `data`. */
  path: string[];
  kind: RuleSetKind;
  rules: IndexedRule[];
  defaultRule?: IndexedRule;
  /** Number of arguments, for functions. */
  arity: number;
}

export interface TreeNode {
  path: string[];
  children: Map<string, TreeNode>;
  ruleSet?: RuleSet;
}

export interface RuleIndex {
  root: TreeNode;
  byPath: Map<string, RuleSet>;
}

export function pathKey(path: string[]): string {
  return path.join('\u0000');
}

export function showPath(path: string[]): string {
  return ['data', ...path].join('.');
}

/**
 * Indexes the rules by path. Packages without rules still get a node: their
 * document is an empty object, not undefined.
 */
export function indexRules(rules: ResolvedRule[], packages: string[][] = []): RuleIndex {
  const root: TreeNode = { path: [], children: new Map() };
  for (const p of packages) nodeAt(root, p);
  const byPath = new Map<string, RuleSet>();
  for (const r of rules) {
    const { path, kind, keys } = classify(r);
    const set = ruleSetFor(r, { root, byPath }, { path, kind });
    const entry: IndexedRule = keys ? { ...r, keys } : r;
    if (!r.rule.default) {
      set.rules.push(entry);
      continue;
    }
    if (set.defaultRule) throw compileError('rego_type_error', `multiple default rules ${showPath(path)} found`, r.rule.loc);
    set.defaultRule = entry;
  }
  checkNesting(root);
  return { root, byPath };
}

/** The rule set at the rule's path, made on its first rule; later rules must be of its kind and arity. */
function ruleSetFor(r: ResolvedRule, index: RuleIndex, at: { path: string[]; kind: RuleSetKind }): RuleSet {
  const { path, kind } = at;
  const k = pathKey(path);
  const arity = r.rule.head.args?.length ?? 0;
  const set = index.byPath.get(k);
  if (set === undefined) {
    const made: RuleSet = { path, kind, rules: [], arity };
    index.byPath.set(k, made);
    nodeAt(index.root, path).ruleSet = made;
    return made;
  }
  if (set.kind !== kind || set.arity !== arity) {
    throw compileError('rego_type_error', `conflicting rules ${showPath(path)} found`, r.rule.loc);
  }
  return set;
}

function classify(r: ResolvedRule): { path: string[]; kind: RuleSetKind; keys?: Term[] } {
  const head = r.rule.head;
  const segs = head.ref.path;
  const path = [...r.pkg, head.name];
  const allStrings = segs.every((s) => s.type === 'string');
  const strings = (ts: Term[]): string[] => ts.map((s) => (s as { value: string }).value);
  if (r.rule.kind === 'function') {
    if (!allStrings) throw compileError('rego_type_error', 'function names cannot hold variables', head.loc);
    return { path: [...path, ...strings(segs)], kind: 'function' };
  }
  if (r.rule.kind === 'multi' && allStrings) return { path: [...path, ...strings(segs)], kind: 'set' };
  if (r.rule.kind === 'multi') {
    // `a[x] contains y`: an object of sets, keyed like an object rule.
    const first = segs.findIndex((x) => x.type !== 'string');
    return { path: [...path, ...strings(segs.slice(0, first))], kind: 'object', keys: segs.slice(first) };
  }
  if (allStrings) return { path: [...path, ...strings(segs)], kind: 'complete' };
  const first = segs.findIndex((x) => x.type !== 'string');
  return { path: [...path, ...strings(segs.slice(0, first))], kind: 'object', keys: segs.slice(first) };
}

function nodeAt(root: TreeNode, path: string[]): TreeNode {
  let n = root;
  for (let i = 0; i < path.length; i++) {
    const k = path[i] as string;
    let c = n.children.get(k);
    if (!c) {
      c = { path: path.slice(0, i + 1), children: new Map() };
      n.children.set(k, c);
    }
    n = c;
  }
  return n;
}

/** A complete value, set or function cannot also have rules below it. */
function checkNesting(n: TreeNode): void {
  if (n.ruleSet && n.ruleSet.kind !== 'object' && n.children.size > 0) {
    const loc = n.ruleSet.rules[0]?.rule.loc ?? n.ruleSet.defaultRule?.rule.loc;
    throw compileError('rego_type_error', `rule ${showPath(n.path)} conflicts with rules below it`, loc);
  }
  for (const c of n.children.values()) checkNesting(c);
}

/**
 * Rule sets a ref into `data` may reach: `path` holds constant keys and
 * `undefined` for keys only known at evaluation, which match every child.
 */
export function ruleSetsMatching(root: TreeNode, path: Array<string | undefined>): RuleSet[] {
  const out: RuleSet[] = [];
  const all = (t: TreeNode): void => {
    if (t.ruleSet) out.push(t.ruleSet);
    for (const c of t.children.values()) all(c);
  };
  const go = (n: TreeNode, i: number): void => {
    if (n.ruleSet) {
      out.push(n.ruleSet);
      if (n.ruleSet.kind !== 'object') return;
    }
    if (i === path.length) return all(n);
    const k = path[i];
    if (k === undefined) for (const c of n.children.values()) go(c, i + 1);
    else {
      const c = n.children.get(k);
      if (c) go(c, i + 1);
    }
  };
  go(root, 0);
  return [...new Set(out)];
}
