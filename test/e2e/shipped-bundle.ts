/**
 * The shipped policies, compiled once per test process with the real
 * compiler, with the tool catalog pointed at the loopback tools of a test.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompiledBundle, ToolEntry } from '../../src/policy/types.ts';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { selectCompiler } from '../../src/policy/compiler.ts';

export const POLICIES_DIR = join(fileURLToPath(import.meta.url), '..', '..', '..', 'policies');

let compiled: Promise<CompiledBundle> | undefined;

export function shippedBundle(): Promise<CompiledBundle> {
  compiled ??= (async () => (await selectCompiler(process.env)).compile(await readBundleDir(POLICIES_DIR)))();
  return compiled;
}

/** The same bundle with catalog URLs replaced (the catalog is not part of the digest). */
export function withTools(bundle: CompiledBundle, urls: Record<string, string>): CompiledBundle {
  const tools: ToolEntry[] = bundle.tools.map((t) => ({ ...t, url: urls[t.name] ?? t.url }));
  return { ...bundle, tools };
}
