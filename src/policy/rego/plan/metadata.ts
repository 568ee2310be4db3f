/**
 * `rego.metadata.rule()` and `rego.metadata.chain()`: as OPA does, the
 * compiler replaces them by constants built from the `# METADATA`
 * annotations of the calling rule, its document, its package and the
 * packages above it.
 */
import type { Annotation, Location, Module, Rule, Term } from '../ast.ts';
import { annotationJson } from '../parser/annotations.ts';

export interface MetadataIndex {
  /** Package path (joined with '.') → annotations on its package statements. */
  packages: Map<string, Annotation[]>;
  /** Rule document path (joined with '.') → document-scoped annotations. */
  documents: Map<string, Annotation[]>;
}

export function indexMetadata(modules: Module[], pkgOf: (m: Module) => string[]): MetadataIndex {
  const packages = new Map<string, Annotation[]>();
  const documents = new Map<string, Annotation[]>();
  const add = (m: Map<string, Annotation[]>, k: string, a: Annotation): void => {
    m.set(k, [...(m.get(k) ?? []), a]);
  };
  for (const m of modules) {
    const pkg = pkgOf(m);
    for (const a of m.package.annotations ?? []) add(packages, pkg.join('.'), a);
    for (const r of m.rules) {
      for (const a of r.annotations ?? []) if (a.scope === 'document') add(documents, rulePath(pkg, r).join('.'), a);
    }
  }
  return { packages, documents };
}

function rulePath(pkg: string[], r: Rule): string[] {
  const segs = r.head.ref.path.map((t) => (t.type === 'string' ? t.value : undefined));
  const ground = segs.findIndex((s) => s === undefined);
  return [...pkg, r.head.name, ...(ground < 0 ? segs : segs.slice(0, ground)) as string[]];
}

/** The constant `rego.metadata.rule()` or `rego.metadata.chain()` stands for in `rule`, or undefined. */
export function metadataCall(name: string, idx: MetadataIndex, pkg: string[], rule: Rule, loc: Location): Term | undefined {
  const own = (rule.annotations ?? []).find((a) => a.scope === 'rule');
  if (name === 'rego.metadata.rule') return jsonTerm(own ? annotationJson(own) : {}, loc);
  if (name !== 'rego.metadata.chain') return undefined;
  const path = rulePath(pkg, rule);
  const chain: unknown[] = [own ? { path, annotations: annotationJson(own) } : { path }];
  for (const a of idx.documents.get(path.join('.')) ?? []) chain.push({ path, annotations: annotationJson(a) });
  for (let n = pkg.length; n > 0; n--) {
    const p = pkg.slice(0, n);
    for (const a of idx.packages.get(p.join('.')) ?? []) {
      if (a.scope === 'subpackages' || (a.scope === 'package' && n === pkg.length)) chain.push({ path: p, annotations: annotationJson(a) });
    }
  }
  return jsonTerm(chain, loc);
}

function jsonTerm(v: unknown, loc: Location): Term {
  if (v === null || v === undefined) return { type: 'null', loc };
  if (typeof v === 'boolean') return { type: 'boolean', value: v, loc };
  if (typeof v === 'number') return { type: 'number', value: String(v), loc };
  if (typeof v === 'string') return { type: 'string', value: v, loc };
  if (Array.isArray(v)) return { type: 'array', items: v.map((x) => jsonTerm(x, loc)), loc };
  const items = Object.entries(v as Record<string, unknown>).map(
    ([k, x]) => [{ type: 'string', value: k, loc }, jsonTerm(x, loc)] as [Term, Term],
  );
  return { type: 'object', items, loc };
}
