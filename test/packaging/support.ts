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
