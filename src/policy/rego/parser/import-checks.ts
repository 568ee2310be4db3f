/**
 * What OPA's parser requires of an import beyond its grammar: `future`
 * imports name `future.keywords[.kw]` and take no alias, the only `rego`
 * import is `rego.v1`, and an import without alias may not end with a
 * keyword (the name it binds would be unusable).
 */
import type { Import } from '../ast.ts';
import { KEYWORDS } from './tokens.ts';

const FUTURE_KEYWORDS = ['contains', 'every', 'if', 'in'];

/** The reason `imp` is refused, or undefined when it is fine. */
export function importProblem(imp: Import): string | undefined {
  const head = imp.path.head.type === 'var' ? imp.path.head.name : '';
  const segs = imp.path.path.map((t) => (t.type === 'string' ? t.value : ''));
  if (head === 'future') {
    if (segs[0] !== 'keywords') return 'invalid import, must be `future.keywords`';
    if (imp.alias !== undefined) return '`future` imports cannot be aliased';
    if (segs.length > 2) return 'invalid import, must be `future.keywords.x`, e.g. `import future.keywords.in`';
    if (segs.length === 2 && !FUTURE_KEYWORDS.includes(segs[1]!)) return `unexpected keyword, must be one of [${FUTURE_KEYWORDS.join(' ')}]`;
    return undefined;
  }
  if (head === 'rego') {
    if (segs.length !== 1 || segs[0] !== 'v1') return `invalid import \`${[head, ...segs].join('.')}\`, must be \`rego.v1\``;
    return undefined;
  }
  const last = segs.length === 0 ? head : segs[segs.length - 1]!;
  if (imp.alias === undefined && KEYWORDS.has(last)) {
    return `unexpected import path, must not end with a keyword, got: ${last} (hint: import a different path or use an alias)`;
  }
  return undefined;
}
