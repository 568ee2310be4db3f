/**
 * Contracts of the policy layer: how Rego sources become a compiled bundle,
 * and how a compiled bundle is evaluated.
 */

/** One Rego module: its path (for error messages) and its text. */
export interface RegoModule {
  path: string;
  source: string;
}

/** A tool of the bundle's catalog: where named routes send calls. */
export interface ToolEntry {
  name: string;
  kind: 'mcp' | 'http';
  /** Upstream base URL, e.g. http://fs-mcp.tools.svc:8080/mcp */
  url: string;
  description?: string;
  /** MCP only: `/mcp/<name>/sub/path` reaches the endpoint's sub-paths (shown to the policy as `mcp.path`); refused otherwise. */
  allowSubPaths?: boolean;
  /** MCP only: a query on the route is passed on (shown to the policy as `mcp.query`); refused otherwise. */
  allowQuery?: boolean;
  /** A credential only the gate holds, presented on every allowed call to this tool (src/sidecar/credentials.ts). */
  credential?: ToolCredential;
  /** MCP only: tool name → `sha256:` of its definition (gate/tool-pin.ts); listings then hide tools that do not match. */
  pins?: Record<string, string>;
}

/**
 * How a tool's credential is presented: the gate looks `name` up in its own
 * credential sources (never the bundle, never the agent) and sends
 * `header: prefix + value`, after removing the agent's own `header`.
 */
export interface ToolCredential {
  name: string;
  header: string;
  prefix?: string;
}

/** A bundle's own test case: this input must produce this effect. */
export interface BundleTestCase {
  name: string;
  input: unknown;
  want: { effect: string; reason?: string };
}

/** Everything a bundle is made of before compilation. */
export interface BundleSource {
  modules: RegoModule[];
  data: Record<string, unknown>;
  /** Entrypoints as OPA paths, e.g. `portcullis/decision`. The first is the default. */
  entrypoints: string[];
  tools: ToolEntry[];
  tests: BundleTestCase[];
}

/** The result of compilation: what the engine loads and what is shipped. */
export interface CompiledBundle {
  wasm: Uint8Array;
  data: Record<string, unknown>;
  entrypoints: string[];
  tools: ToolEntry[];
  tests: BundleTestCase[];
  /** `sha256:<hex>` over the wasm and the canonical data (design.md §4). */
  digest: string;
  /** Which compiler produced the wasm: `portcullis` or `opa`. */
  compiler: string;
  /**
   * The mode the bundle asks for (PolicyBundle `spec.mode`); a sidecar whose
   * pod sets no mode runs it. Not part of the digest: see bundleTag().
   */
  mode?: 'enforce' | 'observe';
}

export interface CompileOptions {
  /** Reject the bundle when a builtin or feature is unsupported (always true today). */
  strict?: boolean;
}

export interface PolicyCompiler {
  readonly name: string;
  compile(source: BundleSource, options?: CompileOptions): Promise<CompiledBundle>;
}

/** The outcome of one evaluation. `result` is undefined when the entrypoint is undefined. */
export interface EvalResult {
  result: unknown;
  digest: string;
  entrypoint: string;
}

/** What deciding needs of an engine: evaluate, and which bundle does. */
export interface PolicyView {
  /** Evaluate an entrypoint (default: the bundle's first) on an input; throws PortcullisError on failure. */
  /**
   * `inputJson`: the input already serialised as JSON (the canonical text its
   * hash is made of), so that the engine does not serialise it again.
   */
  evaluate(input: unknown, entrypoint?: string, inputJson?: string): EvalResult;
  /** The loaded bundle, or undefined before the first successful load. */
  current(): CompiledBundle | undefined;
}

export interface PolicyEngine extends PolicyView {
  /** Load a bundle and swap to it atomically; evaluations in flight finish on the old one. */
  load(bundle: CompiledBundle): Promise<void>;
  /**
   * The engine held on the bundle loaded now: later loads do not change what
   * it evaluates. One decision is made against one bundle, however long it
   * waits for an approval. Engines without it are read live.
   */
  pin?(): PolicyView;
}
