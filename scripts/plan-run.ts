import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { runCase } from './conformance/run-case.ts';
const [file, idx] = process.argv.slice(2);
const doc = parse(readFileSync('/work/shared/opa-conformance/' + file, 'utf8'));
const cases = idx === undefined ? doc.cases : [doc.cases[Number(idx)]];
for (const c of cases) {
  const t = Date.now();
  const r = await runCase(c);
  console.log(c.note, JSON.stringify(r), Date.now() - t, 'ms');
}
