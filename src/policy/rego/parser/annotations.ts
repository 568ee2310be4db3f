/**
 * `# METADATA` blocks, read as OPA reads them: a comment whose text starts
 * with METADATA, followed by comments on the next lines in column 1, holding
 * YAML. Each block binds to the first package or rule statement below it;
 * its scope defaults to that statement's kind and must fit it. Malformed
 * blocks are parse errors.
 */
import { parse as parseYaml } from 'yaml';
import type { Annotation, Comment, Location, Module, Rule } from '../ast.ts';
import { RegoSyntaxError } from './errors.ts';

interface Block {
  loc: Location;
  lines: Comment[];
}

type Statement = { kind: 'package' | 'import'; loc: Location } | { kind: 'rule'; loc: Location; rule: Rule };

function fail(reason: string, loc: Location): never {
  throw new RegoSyntaxError(reason, loc, -1);
}

function metadataBlocks(comments: Comment[]): Block[] {
  const blocks: Block[] = [];
  let current: Block | undefined;
  comments.forEach((c, i) => {
    const prev = comments[i - 1];
    if (current !== undefined && prev !== undefined && c.loc.row === prev.loc.row + 1 && c.loc.col === 1) {
      current.lines.push(c);
      return;
    }
    current = undefined;
    if (c.text.trim().startsWith('METADATA')) {
      current = { loc: c.loc, lines: [] };
      blocks.push(current);
    }
  });
  return blocks;
}

/** Parses every METADATA block of `module`, attaches each to its statement, and returns them all. */
export function attachAnnotations(module: Module): Annotation[] {
  const blocks = metadataBlocks(module.comments);
  if (blocks.length === 0) return [];
  const statements: Statement[] = [
    { kind: 'package' as const, loc: module.package.loc },
    ...module.imports.map((i): Statement => ({ kind: 'import', loc: i.loc })),
    ...module.rules.map((rule): Statement => ({ kind: 'rule', loc: rule.loc, rule })),
  ].sort((a, b) => a.loc.offset - b.loc.offset);
  const out: Annotation[] = [];
  for (const block of blocks) {
    const target = statements.find((s) => s.loc.row > block.loc.row);
    const annotation = readBlock(block, target);
    out.push(annotation);
    if (target?.kind === 'package') (module.package.annotations ??= []).push(annotation);
    else if (target?.kind === 'rule') (target.rule.annotations ??= []).push(annotation);
  }
  return out;
}

function readBlock(block: Block, target: Statement | undefined): Annotation {
  const r = parseBlockYaml(block);
  const scope = optionalString(r['scope'], 'scope', block.loc) ?? defaultScope(target);
  checkScope(scope, target, block.loc);
  const a: Annotation = { loc: block.loc, scope: scope as Annotation['scope'] };
  // In OPA's order: the first malformed field is the one reported.
  for (const [key, read] of FIELDS) {
    if (r[key] !== undefined) read(r[key], a, block.loc);
  }
  return a;
}

/** The block's YAML, which must be a mapping. */
function parseBlockYaml(block: Block): Record<string, unknown> {
  const text = block.lines.map((c) => (c.text.startsWith(' ') ? c.text.slice(1) : c.text)).join('\n');
  if (text.trim() === '') fail('expected METADATA block, found whitespace', block.loc);
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    const line = (e as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    const at = line !== undefined ? (block.lines[line - 1]?.loc ?? block.loc) : block.loc;
    fail(`yaml: ${String((e as Error).message).split('\n')[0]}`, at);
  }
  if (!isMapping(raw)) fail('yaml: unmarshal errors: METADATA must be a mapping of keys to values', block.loc);
  return raw;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A string field; null counts as absent. */
function optionalString(v: unknown, key: string, loc: Location): string | undefined {
  if (v !== undefined && v !== null && typeof v !== 'string') fail(`yaml: unmarshal errors: ${key} must be a string`, loc);
  return (v ?? undefined) as string | undefined;
}

type FieldReader = (v: unknown, a: Annotation, loc: Location) => void;

/** The fields after `scope`, each read into the annotation when present. */
const FIELDS: ReadonlyArray<[key: string, read: FieldReader]> = [
  ['title', (v, a, loc): void => {
    const title = optionalString(v, 'title', loc);
    if (title !== undefined) a.title = title;
  }],
  ['description', (v, a, loc): void => {
    const description = optionalString(v, 'description', loc);
    if (description !== undefined) a.description = description;
  }],
  ['entrypoint', (v, a, loc): void => {
    if (typeof v !== 'boolean') fail('yaml: unmarshal errors: entrypoint must be a boolean', loc);
    a.entrypoint = v;
  }],
  ['organizations', (v, a, loc): void => {
    if (!Array.isArray(v) || v.some((o) => typeof o !== 'string')) fail('yaml: unmarshal errors: organizations must be a list of strings', loc);
    a.organizations = v as string[];
  }],
  ['authors', (v, a, loc): void => {
    a.authors = listOf(v, 'authors', loc).map((x) => author(x, loc));
  }],
  ['related_resources', (v, a, loc): void => {
    a.relatedResources = listOf(v, 'related_resources', loc).map((x) => relatedResource(x, loc));
  }],
  ['schemas', (v, a, loc): void => {
    a.schemas = listOf(v, 'schemas', loc);
  }],
  ['custom', (v, a, loc): void => {
    if (v === null) return;
    if (!isMapping(v)) fail('yaml: unmarshal errors: custom must be a mapping', loc);
    a.custom = v;
  }],
];

function defaultScope(target: Statement | undefined): string {
  return target === undefined ? '' : target.kind;
}

/** The statement kind each scope must be applied to. */
const SCOPE_TARGETS = new Map<string, 'rule' | 'package'>([
  ['rule', 'rule'], ['document', 'rule'], ['package', 'package'], ['subpackages', 'package'],
]);

function checkScope(scope: string, target: Statement | undefined, loc: Location): void {
  const required = SCOPE_TARGETS.get(scope);
  if (required === undefined) fail(`invalid annotation scope '${scope}'. Use one of 'rule', 'document', 'package', or 'subpackages'`, loc);
  const have = target === undefined ? '' : ` (have ${target.kind})`;
  if (target?.kind !== required) fail(`annotation scope '${scope}' must be applied to ${required}${have}`, loc);
}

function listOf(v: unknown, key: string, loc: Location): unknown[] {
  if (!Array.isArray(v)) fail(`yaml: unmarshal errors: ${key} must be a list`, loc);
  return v;
}

/** `Jane Doe <jane@example.com>` or `{name, email}`. */
function author(v: unknown, loc: Location): { name: string; email: string } {
  if (typeof v === 'string') return authorFromString(v, loc);
  if (!isMapping(v)) return fail('invalid author definition: invalid value type, must be string or map', loc);
  const name = typeof v['name'] === 'string' ? v['name'].trim() : '';
  const email = typeof v['email'] === 'string' ? v['email'].trim() : '';
  if (name === '' && email === '') fail(`invalid author definition: 'name' and/or 'email' values required in object`, loc);
  return { name, email };
}

/** The last word is the email when it is in angle brackets. */
function authorFromString(v: string, loc: Location): { name: string; email: string } {
  const parts = v.trim().split(/\s+/).filter((p) => p !== '');
  if (parts.length === 0) fail(`invalid author definition ${v}: author is an empty string`, loc);
  const last = parts[parts.length - 1]!;
  if (last.length >= 2 && last.startsWith('<') && last.endsWith('>')) {
    return { name: parts.slice(0, -1).join(' '), email: last.slice(1, -1) };
  }
  return { name: parts.join(' '), email: '' };
}

function relatedResource(v: unknown, loc: Location): { ref: string; description?: string } {
  if (typeof v === 'string') {
    if (v === '') fail('invalid related-resource definition: ref URL may not be empty string', loc);
    return { ref: v };
  }
  if (isMapping(v)) {
    const o = v;
    const ref = typeof o['ref'] === 'string' ? o['ref'].trim() : '';
    if (ref === '') fail(`invalid related-resource definition: 'ref' value required in object`, loc);
    const description = typeof o['description'] === 'string' ? o['description'].trim() : '';
    return description === '' ? { ref } : { ref, description };
  }
  return fail('invalid related-resource definition: invalid value type, must be string or map', loc);
}

/**
 * An annotation as OPA shows it to policies (`rego.metadata.rule()`,
 * `rego.metadata.chain()`): snake_case keys, empty fields left out.
 */
export function annotationJson(a: Annotation): Record<string, unknown> {
  const out: Record<string, unknown> = { scope: a.scope };
  if (a.title !== undefined) out['title'] = a.title;
  if (a.description !== undefined) out['description'] = a.description;
  if (a.entrypoint === true) out['entrypoint'] = true;
  setNonEmpty(out, 'organizations', a.organizations);
  setNonEmpty(out, 'related_resources', a.relatedResources);
  setNonEmpty(out, 'authors', a.authors?.map(authorJson));
  setNonEmpty(out, 'schemas', a.schemas);
  if (a.custom !== undefined && Object.keys(a.custom).length > 0) out['custom'] = a.custom;
  return out;
}

function setNonEmpty(out: Record<string, unknown>, key: string, list: unknown[] | undefined): void {
  if (list !== undefined && list.length > 0) out[key] = list;
}

/** An author with its empty name or email left out. */
function authorJson(x: { name: string; email: string }): Record<string, string> {
  return { ...(x.name !== '' ? { name: x.name } : {}), ...(x.email !== '' ? { email: x.email } : {}) };
}
