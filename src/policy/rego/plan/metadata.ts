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
  for (const m of modules) {
    const pkg = pkgOf(m);
    for (const a of m.package.annotations ?? []) addAnnotation(packages, pkg.join('.'), a);
    for (const r of m.rules) {
      const documentScoped = (r.annotations ?? []).filter((a) => a.scope === 'document');
      for (const a of documentScoped) addAnnotation(documents, rulePath(pkg, r).join('.'), a);
    }
  }
  return { packages, documents };
}

function addAnnotation(m: Map<string, Annotation[]>, k: string, a: Annotation): void {
  m.set(k, [...(m.get(k) ?? []), a]);
}

function rulePath(pkg: string[], r: Rule): string[] {
  const segs = r.head.ref.path.map((t) => (t.type === 'string' ? t.value : undefined));
  const ground = segs.findIndex((s) => s === undefined);
  return [...pkg, r.head.name, ...(ground < 0 ? segs : segs.slice(0, ground)) as string[]];
}

/** Where a `rego.metadata.*` call is: the rule that holds it, in its package. */
export interface MetadataSite {
  pkg: string[];
  rule: Rule;
  loc: Location;
}

/** The constant `rego.metadata.rule()` or `rego.metadata.chain()` stands for at `site`, or undefined. */
export function metadataCall(name: string, idx: MetadataIndex, site: MetadataSite): Term | undefined {
  if (name === 'rego.metadata.rule') {
    const own = ownAnnotation(site.rule);
    return jsonTerm(own ? annotationJson(own) : {}, site.loc);
  }
  if (name !== 'rego.metadata.chain') return undefined;
  return jsonTerm(metadataChain(idx, site.pkg, site.rule), site.loc);
}

function ownAnnotation(rule: Rule): Annotation | undefined {
  return (rule.annotations ?? []).find((a) => a.scope === 'rule');
}

/** The rule's own annotation, its document's, then its package's and those of the packages above. */
function metadataChain(idx: MetadataIndex, pkg: string[], rule: Rule): unknown[] {
  const own = ownAnnotation(rule);
  const path = rulePath(pkg, rule);
  const chain: unknown[] = [own ? { path, annotations: annotationJson(own) } : { path }];
  for (const a of idx.documents.get(path.join('.')) ?? []) chain.push({ path, annotations: annotationJson(a) });
  for (let n = pkg.length; n > 0; n--) chain.push(...packageLinks(idx, pkg, n));
  return chain;
}

/** The annotations of the package `pkg[:n]` that reach down to `pkg`. */
function packageLinks(idx: MetadataIndex, pkg: string[], n: number): unknown[] {
  const p = pkg.slice(0, n);
  const reaching = (a: Annotation): boolean => a.scope === 'subpackages' || (a.scope === 'package' && n === pkg.length);
  return (idx.packages.get(p.join('.')) ?? []).filter(reaching).map((a) => ({ path: p, annotations: annotationJson(a) }));
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
