/**
 * Plans every conformance case's modules (no wasm) and tallies planner
 * errors by message: a fast check of the planner alone over the whole set.
 *
 *   node --import tsx scripts/plan-all.ts [DIR] [--list]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseModule } from '../src/policy/rego/parser/index.ts';
import { planModules } from '../src/policy/rego/compile.ts';

const dir = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : '/work/shared/opa-conformance';
const list = process.argv.includes('--list');
const tally = new Map<string, number>();
let planned = 0;
let parseErrors = 0;
for (const folder of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
  for (const f of readdirSync(join(dir, folder.name)).filter((x) => x.endsWith('.yaml'))) {
    const doc = parse(readFileSync(join(dir, folder.name, f), 'utf8')) as { cases: Array<Record<string, unknown>> };
    for (const c of doc.cases) {
      const m = /^data\.([\w.]+)/.exec(String(c.query));
      if (!m?.[1]) continue;
      let modules;
      try {
        modules = (c.modules as string[]).map((s, i) => parseModule(s, `module-${i}.rego`));
      } catch {
        parseErrors++;
        continue;
      }
      try {
        planModules(modules, [m[1].replace(/\./g, '/')]);
        planned++;
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).replace(/^[^ ]*: /, '').replace(/(undefined function) .*/, '$1');
        const key = c.want_error_code ? `(expected ${String(c.want_error_code)}) ${msg}` : msg;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        if (list) console.log(`${folder.name}/${f} "${String(c.note)}": ${msg}`);
      }
    }
  }
}
console.log(`planned ${planned}, parse errors ${parseErrors}`);
for (const [k, n] of [...tally].sort((a, b) => b[1] - a[1])) console.log(String(n).padStart(5), k.slice(0, 160));
