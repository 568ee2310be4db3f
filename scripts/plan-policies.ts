/**
 * Plans (and prints) the Rego modules of a folder through Portcullis's own
 * planner: a quick check that a bundle's policies compile.
 *
 *   node --import tsx scripts/plan-policies.ts DIR ENTRYPOINT [--print]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModule } from '../src/policy/rego/parser/index.ts';
import { planModules } from '../src/policy/rego/compile.ts';
import { printPolicy } from './plan-diff.ts';

const [dir = 'policies', entrypoint = 'portcullis/decision', flag] = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.rego'));
const modules = files.map((f) => parseModule(readFileSync(join(dir, f), 'utf8'), f));
const policy = planModules(modules, [entrypoint]);
if (flag === '--print') console.log(printPolicy(policy));
console.log(`${files.length} modules, ${policy.funcs.funcs?.length ?? 0} functions, ${policy.static.strings.length} strings`);
