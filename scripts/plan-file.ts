/** Plans one Rego file and prints the plan: `plan-file.ts FILE ENTRYPOINT`. */
import { readFileSync } from 'node:fs';
import { parseModule } from '../src/policy/rego/parser/index.ts';
import { planModules } from '../src/policy/rego/compile.ts';
import { printPolicy } from './plan-diff.ts';

const [file = '', ep = ''] = process.argv.slice(2);
console.log(printPolicy(planModules([parseModule(readFileSync(file, 'utf8'), file)], [ep])));
