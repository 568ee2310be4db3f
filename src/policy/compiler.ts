/**
 * The compilers of the policy layer, and the choice between them:
 * `PortcullisCompiler` runs Portcullis's own Rego → wasm pipeline (parse every
 * module, plan the entrypoints, emit the wasm, digest); `OpaCliCompiler`
 * delegates to `opa build` (./opa-cli-compiler.ts). `selectCompiler` takes the
 * `opa` CLI when it is on PATH unless PORTCULLIS_COMPILER says otherwise.
 */
import { ErrorCodes, PortcullisError, isPortcullisError } from '../errors.ts';
import type { Module } from './rego/ast.ts';
import { parseModule } from './rego/parser/index.ts';
import { planModules } from './rego/compile.ts';
import { emitWasm } from './rego/emit/index.ts';
import { policyDigest } from './digest.ts';
import { OpaCliCompiler, findOpa } from './opa-cli-compiler.ts';
import type { BundleSource, CompiledBundle, CompileOptions, PolicyCompiler } from './types.ts';

export { OpaCliCompiler } from './opa-cli-compiler.ts';

export class PortcullisCompiler implements PolicyCompiler {
  readonly name = 'portcullis';

  async compile(source: BundleSource, _options?: CompileOptions): Promise<CompiledBundle> {
    if (source.entrypoints.length === 0) {
      throw new PortcullisError(ErrorCodes.BUNDLE_INVALID, 'the bundle declares no entrypoint to compile');
    }
    const modules = stage('parse', () => source.modules.map((m) => parseModule(m.source, m.path)));
    const policy = stage('plan', () => planModules(modules, source.entrypoints));
    const wasm = stage('emit', () => emitWasm(policy));
    return {
      wasm,
      data: source.data,
      entrypoints: source.entrypoints,
      tools: source.tools,
      tests: source.tests,
      digest: policyDigest(wasm, source.data),
      compiler: this.name,
    };
  }
}

/** Parses a module with Portcullis's Rego parser (for tools that need the AST, such as test discovery). */
export function parseRego(source: string, file: string): Module {
  return parseModule(source, file);
}

/** Compile errors keep their REGO_* code; anything unexpected becomes REGO_COMPILE naming the stage. */
function stage<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (isPortcullisError(e)) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new PortcullisError(ErrorCodes.REGO_COMPILE, `internal compiler error (${name}): ${message}`, undefined, { cause: e });
  }
}

/**
 * The compiler to use: PORTCULLIS_COMPILER=portcullis|opa forces one;
 * otherwise `opa` when it is on PATH, else Portcullis's own.
 */
export async function selectCompiler(env: NodeJS.ProcessEnv): Promise<PolicyCompiler> {
  const wanted = env.PORTCULLIS_COMPILER;
  if (wanted && wanted !== 'portcullis' && wanted !== 'opa') {
    throw new PortcullisError(ErrorCodes.CONFIG, `the compiler must be "portcullis" or "opa" (PORTCULLIS_COMPILER or --compiler), not "${wanted}"`);
  }
  if (wanted === 'portcullis') return new PortcullisCompiler();
  const opa = await findOpa(env);
  if (opa) return new OpaCliCompiler(opa);
  if (wanted === 'opa') {
    throw new PortcullisError(ErrorCodes.CONFIG, 'the opa compiler was asked for (PORTCULLIS_COMPILER=opa or --compiler opa) but no `opa` executable is on PATH');
  }
  return new PortcullisCompiler();
}
