/**
 * The real `opa eval` as a reference: modules, data and input are written to
 * files in a temporary directory (as a user would give them), the query runs
 * in a child process, and the JSON answer is read back as either the result
 * set or the error OPA reported, classified as a compile error (`rego_*`
 * codes) or an evaluation error (`eval_*` codes and anything else). At most
 * `concurrency` processes run at once, so a two-core machine stays usable.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpaEvalRequest {
  query: string;
  /** Rego sources; each becomes its own file. */
  modules: string[];
  /** The data document, loaded at the root. */
  data?: unknown;
  /** The input document; `undefined` means no input at all. */
  input?: unknown;
  /** `--strict-builtin-errors`: a builtin's error fails the query instead of being undefined. */
  strictBuiltinErrors?: boolean;
  /**
   * `--disable-indexing --disable-early-exit`: every rule body is evaluated,
   * so an error in one that the optimisations would have skipped is raised.
   */
  unoptimized?: boolean;
}

export interface OpaResult {
  expressions: { value: unknown; text: string }[];
  bindings?: Record<string, unknown>;
}

export type OpaEvalOutcome =
  | { kind: 'result'; results: OpaResult[] }
  | { kind: 'error'; stage: 'compile' | 'eval'; code: string; message: string };

export interface OpaEvaluatorOptions {
  /** Child processes at once (default 2). */
  concurrency?: number;
  /** Per evaluation (default 20 s); a timeout is reported as an error of code `timeout`. */
  timeoutMs?: number;
}

export class OpaEvaluator {
  readonly #binary: string;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(binary: string, options: OpaEvaluatorOptions = {}) {
    this.#binary = binary;
    this.#concurrency = Math.max(1, options.concurrency ?? 2);
    this.#timeoutMs = options.timeoutMs ?? 20_000;
  }

  async eval(request: OpaEvalRequest): Promise<OpaEvalOutcome> {
    await this.#acquire();
    try {
      return await this.#run(request);
    } finally {
      this.#release();
    }
  }

  async #acquire(): Promise<void> {
    if (this.#running < this.#concurrency) {
      this.#running++;
      return;
    }
    // The slot is handed over by #release, so #running stays at the limit.
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }

  async #run(request: OpaEvalRequest): Promise<OpaEvalOutcome> {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-opa-eval-'));
    try {
      const args = ['eval', '--format', 'json'];
      if (request.strictBuiltinErrors) args.push('--strict-builtin-errors');
      if (request.unoptimized) args.push('--disable-indexing', '--disable-early-exit');
      const modulesDir = join(dir, 'modules');
      await mkdir(modulesDir);
      for (const [i, source] of request.modules.entries()) {
        const path = join(modulesDir, `module-${i}.rego`);
        await writeFile(path, source);
        args.push('--data', path);
      }
      if (request.data !== undefined) {
        // A data file named on its own is loaded at the root of `data`.
        const path = join(dir, 'data.json');
        await writeFile(path, JSON.stringify(request.data));
        args.push('--data', path);
      }
      if (request.input !== undefined) {
        const path = join(dir, 'input.json');
        await writeFile(path, JSON.stringify(request.input));
        args.push('--input', path);
      }
      args.push(request.query);
      return await this.#exec(args);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  #exec(args: string[]): Promise<OpaEvalOutcome> {
    return new Promise((resolve) => {
      // An empty environment: `opa.runtime()` reports it, and policies under test have no business with this machine's.
      execFile(this.#binary, args, { timeout: this.#timeoutMs, maxBuffer: 64 * 1024 * 1024, env: {} }, (error, stdout, stderr) => {
        if (error && (error.killed || error.signal)) {
          resolve({ kind: 'error', stage: 'eval', code: 'timeout', message: `opa eval did not finish within ${this.#timeoutMs} ms` });
          return;
        }
        resolve(parseAnswer(stdout, stderr, error?.message));
      });
    });
  }
}

interface OpaAnswer {
  result?: OpaResult[];
  errors?: { code?: string; message?: string }[];
}

/** `opa eval --format json` prints the result set, `{}` when undefined, or `{"errors": [...]}`. */
export function parseAnswer(stdout: string, stderr: string, failure?: string): OpaEvalOutcome {
  let answer: OpaAnswer;
  try {
    answer = JSON.parse(stdout) as OpaAnswer;
  } catch {
    return { kind: 'error', stage: 'eval', code: 'no_json', message: (stderr || failure || stdout).trim() };
  }
  const first = answer.errors?.[0];
  if (answer.errors && answer.errors.length > 0) {
    const code = first?.code ?? 'unknown';
    const message = answer.errors.map((e) => e.message ?? '').join('; ');
    return { kind: 'error', stage: code.startsWith('rego_') ? 'compile' : 'eval', code, message };
  }
  return { kind: 'result', results: answer.result ?? [] };
}
