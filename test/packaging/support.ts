/** Files of the repository and their YAML documents, for the packaging checks. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

/** Never walked: installed or built output, and hidden folders (git, caches, scratch space). */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage']);

/** Repository-relative paths of files under `dir` whose names end with one of `exts`. */
export function filesUnder(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs)) {
      const p = join(abs, name);
      if (statSync(p).isDirectory()) {
        if (!SKIP_DIRS.has(name) && !name.startsWith('.')) walk(p);
      } else if (exts.some((e) => name.endsWith(e))) {
        out.push(relative(root, p).split(sep).join('/'));
      }
    }
  };
  walk(join(root, dir));
  return out.sort();
}

/** Every document of a YAML text; throws naming the file and the first error. */
export function yamlDocuments(text: string, name: string): unknown[] {
  const docs = parseAllDocuments(text);
  const out: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${name}: ${d.errors[0]!.message}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

export function readYamlDocuments(rel: string): unknown[] {
  return yamlDocuments(readFileSync(join(root, rel), 'utf8'), rel);
}

/** `go` with Debian's sprig in GOPATH: what scripts/render-chart needs. */
export function goRendererMissing(): string | undefined {
  const reason = 'needs go and sprig: apt-get install -y golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev golang-gopkg-yaml.v3-dev (.ci/run does)';
  const path = (process.env.PATH ?? '').split(':');
  if (!path.some((d) => d && existsFile(join(d, 'go')))) return reason;
  if (!existsFile(join(process.env.GOPATH_SPRIG ?? '/usr/share/gocode', 'src/github.com/Masterminds/sprig/functions.go'))) return reason;
  return undefined;
}

function existsFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
