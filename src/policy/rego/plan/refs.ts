/**
 * Planning of references. Refs into values (`input`, locals) are chains of
 * `DotStmt` and, for unbound variables, `ScanStmt`. Refs into `data` walk
 * the rule tree: a rule on the path is called and the rest of the ref is
 * applied to its value; a path that leaves the tree is read from the base
 * documents; a key known only at evaluation (`data.pkg[x]`) tries each
 * child in turn; a prefix that still has rules below it (`data.pkg`, `data`)
 * is built as an object merging base and virtual documents.
 */
import type { RefTerm, Term } from '../ast.ts';
import type { Local, Operand } from '../ir.ts';
import { local } from './builder.ts';
import { DATA, INPUT, hasMockBelow, isMockedData, scoped, type FnCtx } from './context.ts';
import type { RuleSet, TreeNode } from './rule-index.ts';
import { planTerm, type OpCont } from './terms.ts';
import { bindVar, isPattern, isUnbound, unifyLocal } from './unify.ts';

export function planRef(ctx: FnCtx, ref: RefTerm, cont: OpCont): void {
  const head = ref.head;
  if (head.type === 'var' && head.name === 'data') return planDataRef(ctx, ref.path, cont);
  if (head.type === 'var' && head.name === 'input') {
    if (ref.path.length === 0) ctx.b.emit('IsDefinedStmt', { source: INPUT });
    return planRefRest(ctx, INPUT, ref.path, cont);
  }
  planTerm(ctx, head, (op) => planRefRest(ctx, ctx.b.toLocal(op), ref.path, cont));
}

/** Applies the ref steps `rest` to the value in `src`. */
export function planRefRest(ctx: FnCtx, src: Local, rest: readonly Term[], cont: OpCont): void {
  const [p, ...after] = rest;
  if (p === undefined) return cont(local(src));
  const b = ctx.b;
  if (isPattern(ctx, p)) {
    const k = b.newLocal();
    const v = b.newLocal();
    const block = b.block(() =>
      scoped(ctx, () => unifyLocal(ctx, p, k, () => planRefRest(ctx, v, after, cont))),
    );
    b.emit('ScanStmt', { source: src, key: k, value: v, block });
    return;
  }
  planTerm(ctx, p, (key) => {
    const t = b.newLocal();
    b.emit('DotStmt', { source: local(src), key, target: t });
    planRefRest(ctx, t, after, cont);
  });
}

export function planDataRef(ctx: FnCtx, path: Term[], cont: OpCont): void {
  walk(ctx, ctx.policy.index.root, path, cont);
}

/** Follows the ref steps `rest` from `node` of the rule tree. */
function walk(ctx: FnCtx, node: TreeNode, rest: readonly Term[], cont: OpCont): void {
  if (node.path.length > 0 && isMockedData(ctx.mocks, node.path)) {
    return planRefRest(ctx, baseChain(ctx, node.path), rest, cont);
  }
  const set = node.ruleSet;
  if (set && node.children.size === 0) return walkRuleLeaf(ctx, set, rest, cont);
  if (rest.length === 0) return cont(local(buildTree(ctx, node)));
  if (!set) return walkBelow(ctx, node, rest, cont);
  planRefRest(ctx, buildTree(ctx, node), rest, cont);
}

/** A rule at the end of the tree: its value, then the rest of the ref; a function has no value. */
function walkRuleLeaf(ctx: FnCtx, set: RuleSet, rest: readonly Term[], cont: OpCont): void {
  if (set.kind === 'function') {
    ctx.b.emit('BreakStmt', { index: 0 });
    return;
  }
  planRefRest(ctx, callRuleSet(ctx, set), rest, cont);
}

/** The next step below a node with no rule of its own: a constant key, a key to try on each child, or a pattern. */
function walkBelow(ctx: FnCtx, node: TreeNode, rest: readonly Term[], cont: OpCont): void {
  const term = rest[0]!;
  const key = dataKey(term);
  if (key !== undefined) {
    const child = node.children.get(key);
    if (child) return walk(ctx, child, rest.slice(1), cont);
    // Leaves the rule tree: the rest is base data only.
    return planRefRest(ctx, baseChain(ctx, [...node.path, key]), rest.slice(1), cont);
  }
  if (term.type === 'var' || !isPattern(ctx, term)) return walkChildren(ctx, node, rest, cont);
  planRefRest(ctx, buildTree(ctx, node), rest, cont);
}

/**
 * A key only known at evaluation (`data.pkg[x]`): each child of the node is
 * tried in turn (binding or comparing the key), then the base document's
 * other keys. Only the rules on matching paths are evaluated.
 */
function walkChildren(ctx: FnCtx, node: TreeNode, rest: readonly Term[], cont: OpCont): void {
  const b = ctx.b;
  const [term, ...after] = rest as [Term, ...Term[]];
  const names = [...node.children.keys()];
  const others = (key: Operand, then: () => void): void => {
    for (const n of names) {
      const notThis = b.block(() => b.emit('EqualStmt', { a: key, b: b.str(n) }));
      b.emit('NotStmt', { block: notThis });
    }
    then();
  };
  if (term.type === 'var' && isUnbound(ctx, term)) {
    for (const [n, child] of node.children) {
      b.nested(() =>
        scoped(ctx, () => {
          bindVar(ctx, term.name, b.str(n));
          walk(ctx, child, after, cont);
        }),
      );
    }
    b.nested(() =>
      scoped(ctx, () => {
        const base = baseChain(ctx, node.path);
        const k = b.newLocal();
        const v = b.newLocal();
        const block = b.block(() =>
          scoped(ctx, () =>
            others(local(k), () => {
              ctx.vars.set(term.name, k);
              planRefRest(ctx, v, after, cont);
            }),
          ),
        );
        b.emit('ScanStmt', { source: base, key: k, value: v, block });
      }),
    );
    return;
  }
  planTerm(ctx, term, (key) => {
    for (const [n, child] of node.children) {
      b.nested(() =>
        scoped(ctx, () => {
          b.emit('EqualStmt', { a: key, b: b.str(n) });
          walk(ctx, child, after, cont);
        }),
      );
    }
    b.nested(() =>
      scoped(ctx, () =>
        others(key, () => {
          const base = baseChain(ctx, node.path);
          const v = b.newLocal();
          b.emit('DotStmt', { source: local(base), key, target: v });
          planRefRest(ctx, v, after, cont);
        }),
      ),
    );
  });
}

/** A constant key into `data`: documents below `data` have string keys, `data.x[2]` means "2". */
function dataKey(t: Term): string | undefined {
  if (t.type === 'string') return t.value;
  if (t.type === 'number') return t.value;
  return undefined;
}

/** `data.k1.k2…` from the base documents; fails the block when missing. */
function baseChain(ctx: FnCtx, path: string[]): Local {
  let src = DATA;
  for (const k of path) {
    const t = ctx.b.newLocal();
    ctx.b.emit('DotStmt', { source: local(src), key: ctx.b.str(k), target: t });
    src = t;
  }
  return src;
}

/**
 * The value of a rule (no arguments), computed at its first use in this
 * function call and reused after: the same rule is often read by several
 * bodies (`count(deny) == 0` in each of a decision's definitions).
 */
function callRuleSet(ctx: FnCtx, set: RuleSet): Local {
  const b = ctx.b;
  const func = ctx.policy.funcFor(set, ctx.mocks);
  const key = `${func}#${ctx.generation}`;
  let memo = ctx.memo.get(key);
  if (!memo) {
    memo = { value: b.newLocal(), done: b.newLocal() };
    ctx.memo.set(key, memo);
  }
  const { value, done } = memo;
  b.nested(() => {
    b.emit('IsUndefinedStmt', { source: done });
    b.emit('AssignVarStmt', { source: { type: 'bool', value: true }, target: done });
    const r = b.newLocal();
    b.emit('CallStmt', { func, args: [local(INPUT), local(DATA)], result: r });
    b.emit('AssignVarStmt', { source: local(r), target: value });
  });
  b.emit('IsDefinedStmt', { source: value });
  return value;
}

/**
 * The whole document at `node`: its base document (if an object) merged
 * with the values of the rules below it that are defined. Always defined.
 */
function buildTree(ctx: FnCtx, node: TreeNode): Local {
  const b = ctx.b;
  const obj = b.newLocal();
  b.emit('MakeObjectStmt', { target: obj });
  for (const [k, child] of node.children) {
    if (isMockedData(ctx.mocks, child.path)) continue; // its value is in the base document
    if (child.ruleSet?.kind === 'function' && child.children.size === 0) continue;
    b.nested(() =>
      scoped(ctx, () => childValue(ctx, child, (op) => b.emit('ObjectInsertStmt', { key: b.str(k), value: op, object: obj }))),
    );
  }
  const result = obj;
  if (node.ruleSet && node.ruleSet.kind === 'object') {
    // Object rules and rules below the same path share keys: inserting once makes a clash an error.
    // Sets that multi-value rules on both sides build at one path are one set (`p[q] contains r` beside `p.b contains "foo"`).
    const set = node.ruleSet;
    b.nested(() => {
      const r = callRuleSet(ctx, set);
      const k = b.newLocal();
      const v = b.newLocal();
      const block = b.block(() => mergeInto(ctx, obj, { k, v }, node));
      b.emit('ScanStmt', { source: r, key: k, value: v, block });
    });
  }
  const out = b.newLocal();
  b.emit('AssignVarStmt', { source: local(result), target: out });
  b.nested(() => {
    const base = baseChain(ctx, node.path);
    b.emit('IsObjectStmt', { source: local(base) });
    const m = b.newLocal();
    // Where both define a key, the base document wins (as in OPA).
    b.emit('ObjectMergeStmt', { a: base, b: result, target: m });
    b.emit('AssignVarStmt', { source: local(m), target: out });
  });
  return out;
}

/**
 * Inserts `v` under `k` in `obj` (an object this plan built), where the
 * static children of `parent` may already be: a set of multi-value rules
 * takes the union, an object of rules below takes `v`'s keys the same way,
 * recursively; anything else clashing is a conflict, as in OPA.
 */
function mergeInto(ctx: FnCtx, obj: Local, { k, v }: { k: Local; v: Local }, parent: TreeNode): void {
  const b = ctx.b;
  const done = b.newLocal();
  b.emit('ResetLocalStmt', { target: done });
  for (const [name, child] of parent.children) {
    const leafSet = child.ruleSet?.kind === 'set' && child.children.size === 0;
    const tree = child.ruleSet === undefined && child.children.size > 0;
    if (!leafSet && !tree) continue;
    b.nested(() => {
      b.emit('EqualStmt', { a: local(k), b: b.str(name) });
      const e = b.newLocal();
      b.emit('DotStmt', { source: local(obj), key: local(k), target: e });
      if (leafSet) {
        b.emit('IsSetStmt', { source: local(e) });
        b.emit('IsSetStmt', { source: local(v) });
        b.tables.useBuiltin('or', 2);
        const u = b.newLocal();
        b.emit('CallStmt', { func: 'or', args: [local(e), local(v)], result: u });
        b.emit('ObjectInsertStmt', { key: local(k), value: local(u), object: obj });
      } else {
        b.emit('IsObjectStmt', { source: local(e) });
        b.emit('IsObjectStmt', { source: local(v) });
        const k2 = b.newLocal();
        const v2 = b.newLocal();
        const block = b.block(() => mergeInto(ctx, e, { k: k2, v: v2 }, child));
        b.emit('ScanStmt', { source: v, key: k2, value: v2, block });
      }
      b.emit('AssignVarStmt', { source: { type: 'bool', value: true }, target: done });
    });
  }
  b.nested(() => {
    b.emit('IsUndefinedStmt', { source: done });
    b.emit('ObjectInsertOnceStmt', { key: local(k), value: local(v), object: obj });
  });
}

function childValue(ctx: FnCtx, node: TreeNode, cont: (op: Operand) => void): void {
  const set = node.ruleSet;
  if (set && node.children.size === 0 && !hasMockBelow(ctx.mocks, node.path)) {
    return cont(local(callRuleSet(ctx, set)));
  }
  cont(local(buildTree(ctx, node)));
}
