/**
 * Reads a policy directory into a BundleSource:
 * - every `*.rego` file below it (`*_test.rego` only when asked: they belong
 *   to `portcullis test`, not to the production bundle);
 * - every `data.json` / `data.yaml` merged into the data at its directory's
 *   path, as OPA does (`users/data.json` becomes `data.users`);
 * - `portcullis.yaml`, the manifest (entrypoints, tool catalog, tests), and
 *   `tests/*.yaml`, more test cases.
 * Hidden directories and node_modules are skipped.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkUniqueTestNames, invalid, parseManifest, parseTests } from './bundle-manifest.ts';
import type { BundleSource, BundleTestCase, RegoModule } from './types.ts';

export interface ReadBundleDirOptions {
  /** Include `*_test.rego` modules (for `portcullis test`). */
  withTestModules?: boolean;
}

const MANIFEST_NAMES = ['portcullis.yaml', 'portcullis.yml'];
const DATA_NAMES = new Set(['data.json', 'data.yaml', 'data.yml']);

interface Found {
  rego: string[];
  data: string[];
  tests: string[];
}

export async function readBundleDir(dir: string, options: ReadBundleDirOptions = {}): Promise<BundleSource> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw invalid(dir, '', 'is not a directory (expected a folder of .rego files)');
  const found: Found = { rego: [], data: [], tests: [] };
  await walk(dir, dir, found);
  const modules = await readModules(dir, found.rego.filter((f) => options.withTestModules || !f.endsWith('_test.rego')));
  const data = await readData(dir, found.data);
  const manifestPath = await firstExisting(dir, MANIFEST_NAMES);
  const manifestName = manifestPath ? relative(dir, manifestPath) : 'portcullis.yaml';
  const manifest = parseManifest(manifestName, manifestPath ? await readDocument(dir, manifestPath) : undefined);
  const tests = await readTests(dir, found.tests, manifest.tests.map((test) => ({ file: manifestName, test })));
  return { modules, data, entrypoints: manifest.entrypoints, tools: manifest.tools, tests };
}

async function readModules(dir: string, regoFiles: string[]): Promise<RegoModule[]> {
  if (regoFiles.length === 0) throw invalid(dir, '', 'holds no .rego modules');
  const modules: RegoModule[] = [];
  for (const path of regoFiles) modules.push({ path: relative(dir, path), source: await readFile(path, 'utf8') });
  return modules;
}

/** The data documents merged into one tree, each at the path of its folder. */
async function readData(dir: string, files: string[]): Promise<Record<string, unknown>> {
  const data: Record<string, unknown> = {};
  for (const file of files) {
    const segments = relative(dir, join(file, '..')).split(sep).filter((s) => s !== '');
    mergeAt(data, segments, await readDocument(dir, file), relative(dir, file));
  }
  return data;
}

/** The manifest's test cases, then those of tests/*.yaml; names must be unique across all of them. */
async function readTests(dir: string, files: string[], tests: { file: string; test: BundleTestCase }[]): Promise<BundleTestCase[]> {
  for (const file of files) {
    const name = relative(dir, file);
    for (const test of parseTests(name, await readDocument(dir, file), '')) tests.push({ file: name, test });
  }
  checkUniqueTestNames(tests);
  return tests.map((t) => t.test);
}

async function walk(root: string, dir: string, found: Found): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'node_modules') await walk(root, path, found);
    } else if (entry.name.endsWith('.rego')) {
      found.rego.push(path);
    } else if (DATA_NAMES.has(entry.name)) {
      found.data.push(path);
    } else if (dir === join(root, 'tests') && /\.ya?ml$/.test(entry.name)) {
      found.tests.push(path);
    }
  }
}

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) {
    const path = join(dir, name);
    if (await stat(path).then((s) => s.isFile(), () => false)) return path;
  }
  return undefined;
}

async function readDocument(root: string, path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  const name = relative(root, path);
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw invalid(name, '', `is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges `value` into `data` at `segments`; objects merge key by key, anything else must not collide. */
function mergeAt(data: Record<string, unknown>, segments: string[], value: unknown, file: string): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) return placeValue(data, segments, value, file);
  mergeObject(objectAt(data, segments, file), value, file, segments.join('.'));
}

/** The object at `segments` inside `data`, made where missing; a value that is not an object in the way collides. */
function objectAt(data: Record<string, unknown>, segments: string[], file: string): Record<string, unknown> {
  let target = data;
  for (const [i, key] of segments.entries()) {
    const next = target[key];
    if (next === undefined) target[key] = {};
    else if (!isObject(next)) throw invalid(file, '', `data.${segments.slice(0, i + 1).join('.')} is already defined by another data file`);
    target = target[key] as Record<string, unknown>;
  }
  return target;
}

/** A document that is not an object: it takes the place of its folder, which nothing else may define. */
function placeValue(data: Record<string, unknown>, segments: string[], value: unknown, file: string): void {
  if (segments.length === 0) throw invalid(file, '', 'data at the bundle root must be an object');
  const parent = objectAt(data, segments.slice(0, -1), file);
  const key = segments[segments.length - 1]!;
  if (key in parent) throw invalid(file, '', `data.${segments.join('.')} is already defined by another data file`);
  parent[key] = value;
}

function mergeObject(target: Record<string, unknown>, value: Record<string, unknown>, file: string, at: string): void {
  for (const [key, v] of Object.entries(value)) {
    const path = at ? `${at}.${key}` : key;
    if (!(key in target)) target[key] = v;
    else if (isObject(target[key]) && isObject(v)) mergeObject(target[key] as Record<string, unknown>, v, file, path);
    else throw invalid(file, '', `data.${path} is already defined by another data file`);
  }
}
