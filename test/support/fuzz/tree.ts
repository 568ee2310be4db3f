/**
 * Generated source as a tree that can be shrunk: a node is text, or a
 * sequence of nodes with simpler replacements to try (a rule that may be
 * dropped, a literal that may go, a term that may become a constant or one
 * of its own operands). The shrinker replaces one node at a time and keeps
 * the replacement when the difference it is chasing remains.
 */
export type Node = string | { parts: Node[]; simpler?: Node[] };

export function node(parts: Node[], simpler?: Node[]): Node {
  return simpler && simpler.length > 0 ? { parts, simpler } : { parts };
}

export function render(n: Node): string {
  if (typeof n === 'string') return n;
  let out = '';
  for (const p of n.parts) out += render(p);
  return out;
}

/** Every tree one replacement away from `n`, outermost nodes first (they remove the most). */
export function* oneSmaller(n: Node): Generator<Node> {
  if (typeof n === 'string') return;
  for (const s of n.simpler ?? []) yield s;
  for (let i = 0; i < n.parts.length; i++) {
    for (const smaller of oneSmaller(n.parts[i]!)) {
      const parts = n.parts.slice();
      parts[i] = smaller;
      yield { parts, simpler: n.simpler };
    }
  }
}
