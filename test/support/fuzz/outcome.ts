/**
 * What one evaluation of a generated case gave: the package document, a
 * refusal to compile, or an evaluation error, in a form both Portcullis's
 * and OPA's answers take.
 */
import type { OpaWasmEngine } from '../../../src/policy/engine.ts';
import { PACKAGE } from './policy.ts';

export type Outcome =
  | { kind: 'value'; value: unknown }
  | { kind: 'compile-error'; code: string; message: string }
  | { kind: 'eval-error'; code: string; message: string };

/**
 * The package document from a loaded module: its own entrypoint, or built
 * from one entrypoint per rule (`opa build` cannot plan a package that
 * holds functions).
 */
export function evaluateDocument(engine: OpaWasmEngine, rules: string[] | undefined, input: unknown): Outcome {
  try {
    if (!rules) return { kind: 'value', value: plain(engine.evaluate(input, PACKAGE).result) };
    const doc: Record<string, unknown> = {};
    for (const r of rules) {
      const value = engine.evaluate(input, `${PACKAGE}/${r}`).result;
      if (value !== undefined) doc[r] = value;
    }
    return { kind: 'value', value: plain(doc) };
  } catch (e) {
    return { kind: 'eval-error', ...codeAndMessage(e) };
  }
}

/** JSON's view of a value: what both sides can express (no -0, no undefined members). */
export function plain(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

export function codeAndMessage(e: unknown): { code: string; message: string } {
  const code = (e as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'error', message: e instanceof Error ? e.message : String(e) };
}
