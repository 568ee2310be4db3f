/**
 * Where the end-to-end tests find the real components (kube-apiserver,
 * kubectl, etcd, helm, jaeger, opa, versitygw): the links `scripts/e2e-tools.sh` keeps in
 * `.tools/bin`, or `PORTCULLIS_TOOLS_BIN`. A missing tool is an error that says
 * how to build it, never a skipped test.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type Tool = 'kube-apiserver' | 'kubectl' | 'etcd' | 'helm' | 'jaeger' | 'opa' | 'versitygw';

const ROOT = join(import.meta.dirname, '..', '..');

export function toolsBin(): string {
  return process.env.PORTCULLIS_TOOLS_BIN ?? join(ROOT, '.tools', 'bin');
}

export function toolPath(tool: Tool): string {
  const path = join(toolsBin(), tool);
  if (!existsSync(path)) {
    throw new Error(`${tool} is not built (looked for ${path}): run scripts/e2e-tools.sh, which builds it from Go modules once per machine`);
  }
  return path;
}
