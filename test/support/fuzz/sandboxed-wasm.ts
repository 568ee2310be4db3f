/**
 * Modules built by `opa build`, evaluated by our engine in a child process
 * with a time limit: they have no step budget, and some loop forever (the
 * wasm OPA 1.22.4 builds for `replace("é", "", "x")` never returns). A
 * request that takes too long kills the child; the next one starts another.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CompiledBundle } from '../../../src/policy/types.ts';
import type { Outcome } from './outcome.ts';

const CHILD = fileURLToPath(new URL('./opa-wasm-child.ts', import.meta.url));

export class SandboxedWasm {
  #child: ChildProcess | undefined;
  #next = 0;
  readonly #timeoutMs: number;

  constructor(timeoutMs = 10_000) {
    this.#timeoutMs = timeoutMs;
  }

  evaluate(bundle: CompiledBundle, rules: string[] | undefined, input: unknown): Promise<Outcome> {
    // Structured clone carries the wasm bytes; the child inherits `--import tsx`.
    const child = (this.#child ??= fork(CHILD, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }));
    child.unref();
    child.channel?.unref();
    const id = ++this.#next;
    return new Promise((resolve) => {
      const finish = (outcome: Outcome): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(outcome);
      };
      const onMessage = (msg: { id: number; outcome: Outcome }): void => {
        if (msg.id === id) finish(msg.outcome);
      };
      const onExit = (): void => {
        this.#child = undefined;
        finish({ kind: 'eval-error', code: 'crashed', message: 'the evaluating process died' });
      };
      const timer = setTimeout(() => {
        this.close();
        finish({ kind: 'eval-error', code: 'timeout', message: `no answer within ${this.#timeoutMs} ms` });
      }, this.#timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ id, bundle, rules, input });
    });
  }

  close(): void {
    this.#child?.kill('SIGKILL');
    this.#child = undefined;
  }
}
