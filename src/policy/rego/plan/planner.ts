/**
 * The policy planner: one plan per entrypoint (the document at its path,
 * as a result set `[{"result": value}]`), and the functions those plans
 * reach, each planned once per set of `with` replacements in force.
 */
import type { Term } from '../ast.ts';
import type { Func, Plan, Policy } from '../ir.ts';
import { FuncBuilder, StaticTables } from './builder.ts';
import { NO_MOCKS, funcKey, type FnCtx, type Mocks, type PolicyContext } from './context.ts';
import { compileError } from './errors.ts';
import { planDataRef } from './refs.ts';
import type { RuleIndex, RuleSet, TreeNode } from './rule-index.ts';
import { planRuleSet } from './rules.ts';
import type { LocalNames } from './scope.ts';

export interface PlannerInput {
  index: RuleIndex;
  names: LocalNames;
  files: string[];
  builtinArity(name: string): number | undefined;
}

export function planPolicy(input: PlannerInput, entrypoints: string[]): Policy {
  const tables = new StaticTables();
  const funcs: Func[] = [];
  const names = new Map<string, string>();
  const variants = new Map<string, number>();
  const queue: Array<{ set: RuleSet; mocks: Mocks; name: string; prefix: string }> = [];
  let slots = 0;
  const policy: PolicyContext = {
    tables,
    nextSlot: () => slots++,
    index: input.index,
    names: input.names,
    builtinArity: input.builtinArity,
    funcFor(set, mocks) {
      const key = funcKey(set, mocks);
      let name = names.get(key);
      if (name === undefined) {
        let g = variants.get(mocks.key);
        if (g === undefined) {
          g = variants.size;
          variants.set(mocks.key, g);
        }
        const prefix = `g${g}`;
        name = [prefix, 'data', ...set.path].join('.');
        names.set(key, name);
        queue.push({ set, mocks, name, prefix });
      }
      return name;
    },
  };
  variants.set(NO_MOCKS.key, 0);
  tables.string('result');
  const plans: Plan[] = entrypoints.map((ep) => planEntrypoint(policy, ep));
  for (let job = queue.shift(); job; job = queue.shift()) {
    funcs.push(planRuleSet(policy, job));
  }
  return {
    static: {
      strings: tables.stringTable(),
      builtin_funcs: tables.builtinFuncs(),
      files: input.files.map((value) => ({ value })),
    },
    plans: { plans },
    funcs: { funcs },
  };
}

function planEntrypoint(policy: PolicyContext, entrypoint: string): Plan {
  const path = entrypoint.split('/').filter((s) => s.length > 0);
  const set = policy.index.byPath.get(path.join('\u0000'));
  if (set?.kind === 'function') {
    throw compileError('rego_compile_error', `entrypoint ${entrypoint} is a function, not a document`, undefined);
  }
  if (!reachesRules(policy.index.root, path)) {
    throw compileError('rego_compile_error', `entrypoint ${entrypoint} does not refer to a rule or package`, undefined);
  }
  const b = new FuncBuilder(policy.tables, 2);
  const ctx: FnCtx = { b, policy, mocks: NO_MOCKS, vars: new Map(), memo: new Map(), generation: 0 };
  const terms: Term[] = path.map((value) => ({ type: 'string', value, loc: { file: '<entrypoint>', row: 0, col: 0, offset: 0 } }));
  const block = b.block(() =>
    planDataRef(ctx, terms, (op) => {
      const o = b.newLocal();
      b.emit('MakeObjectStmt', { target: o });
      b.emit('ObjectInsertStmt', { key: b.str('result'), value: op, object: o });
      b.emit('ResultSetAddStmt', { value: o });
    }),
  );
  return { name: entrypoint, blocks: [block] };
}

/** True when `path` is a package or rule path, lies above one, or goes into a rule's value. */
function reachesRules(root: TreeNode, path: string[]): boolean {
  let n: TreeNode | undefined = root;
  for (const k of path) {
    if (n.ruleSet) return true;
    n = n.children.get(k);
    if (!n) return false;
  }
  return n !== root || n.children.size > 0;
}
