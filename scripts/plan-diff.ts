/**
 * Debugging aid for the planner: for one conformance case (YAML file and
 * case index or note substring), parse and plan its modules and print the
 * plan beside OPA's own plan of the same case (from the `-ir` folder).
 *
 *   node --import tsx scripts/plan-diff.ts FOLDER/FILE.yaml [CASE] [--ours|--opa]
 */
import { readFileSync, existsSync } from 'node:fs';
import { parse } from 'yaml';
import { parseModule } from '../src/policy/rego/parser/index.ts';
import { planModules } from '../src/policy/rego/compile.ts';
import type { Block, Operand, Policy, Stmt } from '../src/policy/rego/ir.ts';

const CONF = process.env.PORTCULLIS_CONFORMANCE_DIR ?? '/work/shared/opa-conformance';

function op(o: Operand): string {
  if (o.type === 'local') return `L${o.value}`;
  if (o.type === 'bool') return String(o.value);
  return `S${o.value}`;
}

function stmtLines(s: Stmt, ind: string, strings: string[]): string[] {
  const x = s.stmt as Record<string, unknown>;
  const sub = (label: string, b: Block): string[] => [ind + label + ' {', ...b.stmts.flatMap((t) => stmtLines(t, ind + '  ', strings)), ind + '}'];
  switch (s.type) {
    case 'BlockStmt':
      return [ind + 'Block', ...s.stmt.blocks.flatMap((b) => sub(' ', b))];
    case 'NotStmt':
      return sub('Not', s.stmt.block);
    case 'ScanStmt':
      return sub(`Scan L${s.stmt.source} k=L${s.stmt.key} v=L${s.stmt.value}`, s.stmt.block);
    case 'WithStmt':
      return sub(`With L${s.stmt.local} path=${JSON.stringify((s.stmt.path ?? []).map((i) => strings[i]))} value=${op(s.stmt.value)}`, s.stmt.block);
    default: {
      const parts = Object.entries(x)
        .filter(([k]) => !['file', 'row', 'col'].includes(k))
        .map(([k, v]) => {
          if (v && typeof v === 'object' && 'type' in (v as object)) {
            const o = v as Operand;
            return `${k}=${op(o)}${o.type === 'string_index' ? `(${JSON.stringify(strings[o.value])})` : ''}`;
          }
          if (Array.isArray(v)) return `${k}=[${v.map((a) => (typeof a === 'object' ? op(a as Operand) : a)).join(',')}]`;
          return `${k}=${String(v)}`;
        });
      return [ind + s.type.replace(/Stmt$/, '') + ' ' + parts.join(' ')];
    }
  }
}

export function printPolicy(p: Policy): string {
  const strings = p.static.strings.map((s) => s.value);
  const out: string[] = [];
  for (const f of p.funcs.funcs ?? []) {
    out.push(`FUNC ${f.name} params=${JSON.stringify(f.params)} ret=${f.return}`);
    for (const b of f.blocks) out.push(' {', ...b.stmts.flatMap((s) => stmtLines(s, '  ', strings)), ' }');
  }
  for (const pl of p.plans.plans) {
    out.push(`PLAN ${pl.name}`);
    for (const b of pl.blocks) out.push(' {', ...b.stmts.flatMap((s) => stmtLines(s, '  ', strings)), ' }');
  }
  return out.join('\n');
}

function main(): void {
  const [file, which, ...flags] = process.argv.slice(2);
  if (!file) throw new Error('usage: plan-diff.ts FOLDER/FILE.yaml [CASE]');
  const path = existsSync(file) ? file : `${CONF}/${file}`;
  const doc = parse(readFileSync(path, 'utf8')) as { cases: Array<Record<string, unknown>> };
  const cases = doc.cases.filter((c, i) => which === undefined || String(i) === which || String(c.note).includes(which));
  const irPath = path.replace('opa-conformance/', 'opa-conformance-ir/').replace(/\.yaml$/, '.json');
  const ir = existsSync(irPath) ? (JSON.parse(readFileSync(irPath, 'utf8')) as { cases: Array<Record<string, unknown>> }) : undefined;
  for (const c of cases) {
    console.log(`### ${String(c.note)}\nquery: ${String(c.query)}`);
    const modules = (c.modules as string[]).map((src, i) => parseModule(src, `module-${i}.rego`));
    for (const m of c.modules as string[]) console.log(m);
    const ep = /^data\.([\w.]+)/.exec(String(c.query))?.[1]?.replace(/\./g, '/') ?? '';
    if (!flags.includes('--opa')) {
      try {
        console.log('--- ours (entrypoint ' + ep + ')');
        console.log(printPolicy(planModules(modules, [ep])));
      } catch (e) {
        console.log('ERROR', e instanceof Error ? e.message : e);
      }
    }
    const theirs = ir?.cases.find((x) => x.note === c.note)?.plan as Policy | undefined;
    if (theirs && !flags.includes('--ours')) console.log('--- OPA\n' + printPolicy(theirs));
  }
}

if (process.argv[1]?.endsWith('plan-diff.ts')) main();
