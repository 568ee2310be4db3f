/**
 * Compiles a bundle with the `opa` command (`opa build -t wasm`), for when it
 * is installed (the container image ships it). The sources are written to a
 * temporary directory, built, and `policy.wasm` is taken out of the bundle
 * OPA writes; data, tools and tests come from the source, as with the
 * Portcullis compiler, so both give the same kind of CompiledBundle.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, normalize } from 'node:path';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { policyDigest } from './digest.ts';
import { unpackTarGz } from './tar-gz.ts';
import type { BundleSource, CompiledBundle, PolicyCompiler } from './types.ts';

const BUILD_TIMEOUT_MS = 120_000;

export class OpaCliCompiler implements PolicyCompiler {
  readonly name = 'opa';
  readonly #binary: string;

  constructor(binary = 'opa') {
    this.#binary = binary;
  }

  async compile(source: BundleSource): Promise<CompiledBundle> {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-opa-build-'));
    try {
      const srcDir = join(dir, 'src');
      for (const [i, module] of source.modules.entries()) {
        const path = join(srcDir, safeRelative(module.path, i));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, module.source);
      }
      await mkdir(srcDir, { recursive: true });
      await writeFile(join(srcDir, 'data.json'), JSON.stringify(source.data ?? {}));
      const out = join(dir, 'bundle.tar.gz');
      const args = ['build', '-t', 'wasm', ...source.entrypoints.flatMap((e) => ['-e', e]), '-o', out, srcDir];
      await run(this.#binary, args);
      const files = await unpackTarGz(await readFile(out));
      const wasm = files.get('/policy.wasm');
      if (!wasm) throw new PortcullisError(ErrorCodes.REGO_COMPILE, 'opa build wrote a bundle without /policy.wasm');
      const bytes = new Uint8Array(wasm);
      return {
        wasm: bytes,
        data: source.data,
        entrypoints: source.entrypoints,
        tools: source.tools,
        tests: source.tests,
        digest: policyDigest(bytes, source.data),
        compiler: this.name,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** A module path kept inside the build directory (module paths come from users). */
function safeRelative(path: string, index: number): string {
  const clean = normalize(path).replace(/^(\.\.(\/|\\|$))+/, '');
  if (!clean || isAbsolute(clean) || clean.startsWith('..') || !clean.endsWith('.rego')) return `module-${index}.rego`;
  return clean;
}

function run(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve();
      // `opa build` prints its compile errors on stdout, not stderr.
      const message = (String(stderr).trim() || String(stdout).trim() || error.message).trim();
      reject(new PortcullisError(ErrorCodes.REGO_COMPILE, `opa build failed: ${message}`, { compiler: 'opa' }, { cause: error }));
    });
  });
}

/** The path of an executable `opa` on PATH, or undefined. */
export async function findOpa(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'opa');
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}
