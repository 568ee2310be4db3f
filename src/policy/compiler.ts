/**
 * The compilers of the policy layer, and the choice between them:
 * `PortcullisCompiler` runs Portcullis's own Rego → wasm pipeline (parse every
 * module, plan the entrypoints, emit the wasm, digest); `OpaCliCompiler`
 * delegates to `opa build` (./opa-cli-compiler.ts). `selectCompiler` takes the
 * `opa` CLI when it is on PATH unless PORTCULLIS_COMPILER says otherwise.
 */
import { ErrorCodes, PortcullisError, isPortcullisError } from '../errors.ts';
import type { Module } from './rego/ast.ts';
import type { Policy } from './rego/ir.ts';
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
    const rego = await loadPipeline();
    const modules = stage('parse', () => source.modules.map((m) => rego.parseModule(m.source, m.path)));
    const policy = stage('plan', () => rego.planModules(modules, source.entrypoints));
    const wasm = stage('emit', () => rego.emitWasm(policy));
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

/** The three stages of the Rego compiler. */
export interface RegoPipeline {
  parseModule(source: string, file: string): Module;
  planModules(modules: Module[], entrypoints: string[]): Policy;
  emitWasm(policy: Policy): Uint8Array;
}

let pipeline: Promise<RegoPipeline> | undefined;

/**
 * The stages are imported on first use, which also keeps the compiler out of
 * processes that only evaluate. Their module paths are computed so that this
 * file type-checks while a stage is still being written.
 */
function loadPipeline(): Promise<RegoPipeline> {
  pipeline ??= (async () => {
    const load = (path: string) => import(new URL(path, import.meta.url).href);
    const [parser, planner, emitter] = await Promise.all([
      load('./rego/parser/index.ts'),
      load('./rego/compile.ts'),
      load('./rego/emit/index.ts'),
    ]);
    return { parseModule: parser.parseModule, planModules: planner.planModules, emitWasm: emitter.emitWasm };
  })();
  pipeline.catch(() => (pipeline = undefined));
  return pipeline;
}

/** Parses a module with Portcullis's Rego parser (for tools that need the AST, such as test discovery). */
export async function parseRego(source: string, file: string): Promise<Module> {
  return (await loadPipeline()).parseModule(source, file);
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
    throw new PortcullisError(ErrorCodes.CONFIG, `PORTCULLIS_COMPILER must be "portcullis" or "opa", not "${wanted}"`);
  }
  if (wanted === 'portcullis') return new PortcullisCompiler();
  const opa = await findOpa(env);
  if (opa) return new OpaCliCompiler(opa);
  if (wanted === 'opa') {
    throw new PortcullisError(ErrorCodes.CONFIG, 'PORTCULLIS_COMPILER=opa but no `opa` executable is on PATH');
  }
  return new PortcullisCompiler();
}
