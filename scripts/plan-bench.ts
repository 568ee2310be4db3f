/** Times evaluations of a policy folder's entrypoint compiled by the planner: `plan-bench.ts DIR EP INPUT.json`. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { parseModule } from '../src/policy/rego/parser/index.ts';
import { planModules } from '../src/policy/rego/compile.ts';
import { emitWasm } from '../src/policy/rego/emit/index.ts';

const [dir = 'policies', ep = 'portcullis/decision', inputFile] = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.rego') && !f.endsWith('_test.rego'));
const modules = files.map((f) => parseModule(readFileSync(join(dir, f), 'utf8'), f));
const policy = await loadPolicy(emitWasm(planModules(modules, [ep])));
policy.setData(JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8')));
const input = inputFile ? JSON.parse(readFileSync(inputFile, 'utf8')) : {};
console.log(JSON.stringify(policy.evaluate(input, ep)));
const n = 2000;
const t = process.hrtime.bigint();
for (let i = 0; i < n; i++) policy.evaluate(input, ep);
console.log(`${Number(process.hrtime.bigint() - t) / n / 1000} µs per evaluation`);
