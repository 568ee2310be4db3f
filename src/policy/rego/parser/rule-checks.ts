/**
 * Checks the parser makes on rule heads, worded as OPA words them: a default
 * rule needs a constant value and plain, distinct variables as arguments.
 */
import type { RuleHead, Term } from '../ast.ts';

/** Terms whose kind makes a default value non-constant. */
const NON_CONSTANT = new Set<Term['type']>(['var', 'ref', 'call', 'templatestring']);

/** The kind of the first var, ref or call in `t` outside comprehensions. */
function firstNonConstant(t: Term): string | undefined {
  if (NON_CONSTANT.has(t.type)) return t.type;
  const items = t.type === 'array' || t.type === 'set' ? t.items : t.type === 'object' ? t.items.flat() : [];
  for (const item of items) {
    const found = firstNonConstant(item);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function checkDefaultRule(head: RuleHead, explicitValue: boolean, fail: (reason: string) => never): void {
  if (!explicitValue || head.value === undefined) fail('illegal default rule (must have a value)');
  const bad = firstNonConstant(head.value);
  if (bad !== undefined) fail(`illegal default rule (value cannot contain ${bad})`);
  if (head.ref.path.some((seg) => seg.type !== 'string')) fail('illegal default rule (ref cannot contain variables)');
  const seen = new Set<string>();
  for (const arg of head.args ?? []) {
    if (arg.type !== 'var') fail(`illegal default rule (arguments cannot contain ${arg.type})`);
    if (seen.has(arg.name)) fail(`illegal default rule (arguments cannot be repeated ${arg.name})`);
    seen.add(arg.name);
  }
}
