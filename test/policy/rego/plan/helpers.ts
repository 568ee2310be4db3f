/**
 * Test helpers: Rego source → plan (through the real parser and planner),
 * and plan → wasm → evaluation through the unmodified opa-wasm SDK.
 */
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { parseModule } from '../../../../src/policy/rego/parser/index.ts';
import { planModules } from '../../../../src/policy/rego/compile.ts';
import { emitWasm } from '../../../../src/policy/rego/emit/index.ts';
import type { Policy, Stmt, Block } from '../../../../src/policy/rego/ir.ts';

export function plan(sources: string[], entrypoints: string[]): Policy {
  const modules = sources.map((s, i) => parseModule(s, `m${i}.rego`));
  return planModules(modules, entrypoints);
}

/** Evaluates each entrypoint; the value is the first result, or undefined. */
export async function evaluate(
  sources: string[],
  entrypoints: string[],
  opts: { input?: unknown; data?: unknown } = {},
): Promise<Record<string, unknown>> {
  const wasm = emitWasm(plan(sources, entrypoints));
  const policy = await loadPolicy(wasm);
  policy.setData((opts.data ?? {}) as object);
  const out: Record<string, unknown> = {};
  for (const ep of entrypoints) {
    const rs = policy.evaluate(opts.input, ep) as Array<{ result: unknown }>;
    out[ep] = rs[0]?.result;
  }
  return out;
}

/** Every statement of the policy, depth first. */
export function allStmts(p: Policy): Stmt[] {
  const out: Stmt[] = [];
  const block = (b: Block): void => b.stmts.forEach(stmt);
  const stmt = (s: Stmt): void => {
    out.push(s);
    if (s.type === 'BlockStmt') s.stmt.blocks.forEach(block);
    if (s.type === 'NotStmt' || s.type === 'ScanStmt' || s.type === 'WithStmt') block(s.stmt.block);
  };
  for (const f of p.funcs.funcs ?? []) f.blocks.forEach(block);
  for (const pl of p.plans.plans) pl.blocks.forEach(block);
  return out;
}
