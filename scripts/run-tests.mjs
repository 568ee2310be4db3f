// Runs every test/**/*.test.ts with node's own test runner (Node 20 has no
// glob support in `--test`). Extra arguments narrow the run: a path prefix
// (`npm test -- test/policy`) or runner flags (`--test-name-pattern=x`).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const prefixes = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = find('test')
  .filter((f) => prefixes.length === 0 || prefixes.some((p) => f.startsWith(p.replace(/^\.\//, ''))))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${prefixes.join(' ') || 'test/'}`);
  process.exit(1);
}
// The end-to-end tests run the real kube-apiserver, etcd, kubectl, helm, Jaeger
// and OPA: build whatever this machine does not have yet (a no-op when cached).
if (!process.env.PORTCULLIS_TOOLS_BIN) {
  const tools = spawnSync('bash', [join('scripts', 'e2e-tools.sh')], { stdio: 'inherit' });
  if (tools.status !== 0) {
    console.error('the end-to-end tools could not be built (scripts/e2e-tools.sh, output above); the tests need them');
    process.exit(1);
  }
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
