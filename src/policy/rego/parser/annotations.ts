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

const SCOPES = new Set(['rule', 'document', 'package', 'subpackages']);

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
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('yaml: unmarshal errors: METADATA must be a mapping of keys to values', block.loc);
  const r = raw as Record<string, unknown>;
  const str = (key: string): string | undefined => {
    const v = r[key];
    if (v !== undefined && v !== null && typeof v !== 'string') fail(`yaml: unmarshal errors: ${key} must be a string`, block.loc);
    return (v ?? undefined) as string | undefined;
  };
  const scope = str('scope') ?? defaultScope(target);
  checkScope(scope, target, block.loc);
  const a: Annotation = { loc: block.loc, scope: scope as Annotation['scope'] };
  const title = str('title');
  if (title !== undefined) a.title = title;
  const description = str('description');
  if (description !== undefined) a.description = description;
  if (r['entrypoint'] !== undefined) {
    if (typeof r['entrypoint'] !== 'boolean') fail('yaml: unmarshal errors: entrypoint must be a boolean', block.loc);
    a.entrypoint = r['entrypoint'];
  }
  if (r['organizations'] !== undefined) {
    const orgs = r['organizations'];
    if (!Array.isArray(orgs) || orgs.some((o) => typeof o !== 'string')) fail('yaml: unmarshal errors: organizations must be a list of strings', block.loc);
    a.organizations = orgs as string[];
  }
  if (r['authors'] !== undefined) a.authors = listOf(r['authors'], 'authors', block.loc).map((x) => author(x, block.loc));
  if (r['related_resources'] !== undefined) {
    a.relatedResources = listOf(r['related_resources'], 'related_resources', block.loc).map((x) => relatedResource(x, block.loc));
  }
  if (r['schemas'] !== undefined) a.schemas = listOf(r['schemas'], 'schemas', block.loc);
  if (r['custom'] !== undefined && r['custom'] !== null) {
    if (typeof r['custom'] !== 'object' || Array.isArray(r['custom'])) fail('yaml: unmarshal errors: custom must be a mapping', block.loc);
    a.custom = r['custom'] as Record<string, unknown>;
  }
  return a;
}

function defaultScope(target: Statement | undefined): string {
  return target === undefined ? '' : target.kind;
}

function checkScope(scope: string, target: Statement | undefined, loc: Location): void {
  const have = target === undefined ? '' : ` (have ${target.kind})`;
  if (scope === 'rule' || scope === 'document') {
    if (target?.kind !== 'rule') fail(`annotation scope '${scope}' must be applied to rule${have}`, loc);
  } else if (scope === 'package' || scope === 'subpackages') {
    if (target?.kind !== 'package') fail(`annotation scope '${scope}' must be applied to package${have}`, loc);
  } else if (!SCOPES.has(scope)) {
    fail(`invalid annotation scope '${scope}'. Use one of 'rule', 'document', 'package', or 'subpackages'`, loc);
  }
}

function listOf(v: unknown, key: string, loc: Location): unknown[] {
  if (!Array.isArray(v)) fail(`yaml: unmarshal errors: ${key} must be a list`, loc);
  return v;
}

/** `Jane Doe <jane@example.com>` or `{name, email}`. */
function author(v: unknown, loc: Location): { name: string; email: string } {
  if (typeof v === 'string') {
    const parts = v.trim().split(/\s+/).filter((p) => p !== '');
    if (parts.length === 0) fail(`invalid author definition ${v}: author is an empty string`, loc);
    const last = parts[parts.length - 1]!;
    if (last.length >= 2 && last.startsWith('<') && last.endsWith('>')) {
      return { name: parts.slice(0, -1).join(' '), email: last.slice(1, -1) };
    }
    return { name: parts.join(' '), email: '' };
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const name = typeof o['name'] === 'string' ? o['name'].trim() : '';
    const email = typeof o['email'] === 'string' ? o['email'].trim() : '';
    if (name === '' && email === '') fail(`invalid author definition: 'name' and/or 'email' values required in object`, loc);
    return { name, email };
  }
  return fail('invalid author definition: invalid value type, must be string or map', loc);
}

function relatedResource(v: unknown, loc: Location): { ref: string; description?: string } {
  if (typeof v === 'string') {
    if (v === '') fail('invalid related-resource definition: ref URL may not be empty string', loc);
    return { ref: v };
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
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
  if (a.organizations !== undefined && a.organizations.length > 0) out['organizations'] = a.organizations;
  if (a.relatedResources !== undefined && a.relatedResources.length > 0) out['related_resources'] = a.relatedResources;
  if (a.authors !== undefined && a.authors.length > 0) {
    out['authors'] = a.authors.map((x) => ({ ...(x.name !== '' ? { name: x.name } : {}), ...(x.email !== '' ? { email: x.email } : {}) }));
  }
  if (a.schemas !== undefined && a.schemas.length > 0) out['schemas'] = a.schemas;
  if (a.custom !== undefined && Object.keys(a.custom).length > 0) out['custom'] = a.custom;
  return out;
}
