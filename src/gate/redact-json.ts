/**
 * Response field redaction (`constraints.redact`): JSONPath-like paths such as
 * `$.card.number`, `$.items[*].secret`, `$.rows[0].ssn`, `$['odd key']`.
 * Matching fields are removed from the JSON response before the agent sees it.
 */
import { PortcullisError, ErrorCodes } from '../errors.ts';

type Step = { key: string } | { index: number } | { wildcard: true };

/** A step read from the path, and how many characters it took. */
interface ReadStep {
  step: Step;
  length: number;
}

/** `.key` or `.*`; `rest` follows the dot. */
function dotStep(rest: string): ReadStep | undefined {
  const m = /^[A-Za-z0-9_$\-]+|^\*/.exec(rest);
  if (!m) return undefined;
  return { step: m[0] === '*' ? { wildcard: true } : { key: m[0] }, length: 1 + m[0].length };
}

/** What is inside `[…]`: `*`, an index, or a quoted key. */
function bracketContent(t: string): Step {
  if (t === '*') return { wildcard: true };
  if (/^\d+$/.test(t)) return { index: Number(t) };
  return { key: t.slice(1, -1) };
}

/** `[*]`, `[0]`, `['key']` or `["key"]`; `rest` starts at the bracket. */
function bracketStep(rest: string): ReadStep | undefined {
  const m = /^\[(\*|\d+|'[^']*'|"[^"]*")\]/.exec(rest);
  if (!m) return undefined;
  return { step: bracketContent(m[1]!), length: m[0].length };
}

function readStep(path: string, i: number): ReadStep | undefined {
  if (path[i] === '.') return dotStep(path.slice(i + 1));
  if (path[i] === '[') return bracketStep(path.slice(i));
  return undefined;
}

/** Parses a path into steps; throws DECISION_INVALID for a path it cannot read. */
export function parseRedactPath(path: string): Step[] {
  const fail = (): never => {
    throw new PortcullisError(ErrorCodes.DECISION_INVALID, `redact path ${JSON.stringify(path)} cannot be read; use $.a.b or $.a[*].b`);
  };
  if (path[0] !== '$') fail();
  const steps: Step[] = [];
  for (let i = 1; i < path.length; ) {
    const read = readStep(path, i) ?? fail();
    steps.push(read.step);
    i += read.length;
  }
  if (steps.length === 0) fail();
  return steps;
}

function children(node: unknown, step: Step): Array<[Record<string, unknown> | unknown[], string | number]> {
  if (typeof node !== 'object' || node === null) return [];
  if ('wildcard' in step) {
    return Array.isArray(node) ? node.map((_, i) => [node, i]) : Object.keys(node).map((k) => [node as Record<string, unknown>, k]);
  }
  if ('index' in step) return Array.isArray(node) && step.index < node.length ? [[node, step.index]] : [];
  return !Array.isArray(node) && Object.hasOwn(node, step.key) ? [[node as Record<string, unknown>, step.key]] : [];
}

function remove(node: unknown, steps: Step[]): number {
  const [step, ...rest] = steps;
  let removed = 0;
  const hits = children(node, step!);
  // Remove from the end so array indexes stay valid while splicing.
  for (let h = hits.length - 1; h >= 0; h--) {
    const [parent, key] = hits[h]!;
    if (rest.length > 0) {
      removed += remove((parent as Record<string | number, unknown>)[key], rest);
    } else if (Array.isArray(parent)) {
      parent.splice(key as number, 1);
      removed++;
    } else {
      delete (parent as Record<string, unknown>)[key as string];
      removed++;
    }
  }
  return removed;
}

/** Removes every field matched by `paths` from `value` (mutated in place); returns how many went. */
export function redactFields(value: unknown, paths: readonly string[]): number {
  let n = 0;
  for (const p of paths) n += remove(value, parseRedactPath(p));
  return n;
}
