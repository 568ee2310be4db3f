/**
 * Runs conformance cases in this process (no child, no timeout), through
 * the same pipeline as `npm run conformance`: quick to iterate on one file.
 *
 *   node --import tsx scripts/plan-run.ts FOLDER/FILE.yaml [INDEX]
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { runCase } from './conformance/run-case.ts';

const CONF = process.env.PORTCULLIS_CONFORMANCE_DIR ?? '/work/shared/opa-conformance';
const [file = '', idx] = process.argv.slice(2);
const doc = parse(readFileSync(`${CONF}/${file}`, 'utf8')) as { cases: Parameters<typeof runCase>[0][] };
const cases = idx === undefined ? doc.cases : [doc.cases[Number(idx)]];
for (const c of cases) {
  if (!c) continue;
  const t = Date.now();
  const r = await runCase(c);
  console.log(c.note, JSON.stringify(r), Date.now() - t, 'ms');
}
