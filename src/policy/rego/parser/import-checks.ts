/**
 * What OPA's parser requires of an import beyond its grammar: `future`
 * imports name `future.keywords[.kw]` and take no alias, the `rego` imports
 * are `rego.v1` and `rego.v2` (refused: its `and`/`or` are not implemented), and an import without alias may not end with a
 * keyword (the name it binds would be unusable).
 */
import type { Import } from '../ast.ts';
import { KEYWORDS } from './tokens.ts';

const FUTURE_KEYWORDS = ['and', 'contains', 'every', 'if', 'in', 'not', 'or'];
/** Future keywords OPA has and Portcullis does not implement: refused by name. */
const UNSUPPORTED_KEYWORDS = ['and', 'or'];

/** The reason `imp` is refused, or undefined when it is fine. */
export function importProblem(imp: Import): string | undefined {
  const head = imp.path.head.type === 'var' ? imp.path.head.name : '';
  const segs = imp.path.path.map((t) => (t.type === 'string' ? t.value : ''));
  if (head === 'future') return futureImportProblem(segs, imp.alias);
  if (head === 'rego') return regoImportProblem(segs);
  const last = segs.length === 0 ? head : segs[segs.length - 1]!;
  if (imp.alias === undefined && KEYWORDS.has(last)) {
    return `unexpected import path, must not end with a keyword, got: ${last} (hint: import a different path or use an alias)`;
  }
  return undefined;
}

/** `future.keywords` or `future.keywords.kw`, with no alias. */
function futureImportProblem(segs: string[], alias: string | undefined): string | undefined {
  if (segs[0] !== 'keywords') return 'invalid import, must be `future.keywords`';
  if (alias !== undefined) return '`future` imports cannot be aliased';
  if (segs.length > 2) return 'invalid import, must be `future.keywords.x`, e.g. `import future.keywords.in`';
  const keyword = segs[1];
  if (keyword === undefined) return undefined;
  if (!FUTURE_KEYWORDS.includes(keyword)) return `unexpected keyword, must be one of [${FUTURE_KEYWORDS.join(' ')}]`;
  if (UNSUPPORTED_KEYWORDS.includes(keyword)) return `import future.keywords.${keyword} is not supported by Portcullis (the ${keyword} keyword is not implemented)`;
  return undefined;
}

/** `rego.v1`; `rego.v2` is refused by name. */
function regoImportProblem(segs: string[]): string | undefined {
  // rego.v2 also brings the `and` and `or` keywords, which Portcullis does not implement: refused by name.
  if (segs.length === 1 && segs[0] === 'v2') return 'import rego.v2 is not supported by Portcullis (its `and` and `or` keywords are not implemented); import future.keywords.not for the `not` semantics';
  if (segs.length !== 1 || segs[0] !== 'v1') return `invalid import \`${['rego', ...segs].join('.')}\`, must be one of: \`rego.v1\`, \`rego.v2\``;
  return undefined;
}

/** `import future.keywords.not` or `import future.keywords`: negation of whole expressions and `not { … }`. */
export function importsFutureNot(imp: Import): boolean {
  const head = imp.path.head.type === 'var' ? imp.path.head.name : '';
  const segs = imp.path.path.map((t) => (t.type === 'string' ? t.value : ''));
  return head === 'future' && segs[0] === 'keywords' && (segs.length === 1 || segs[1] === 'not');
}
