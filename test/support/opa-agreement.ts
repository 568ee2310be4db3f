/**
 * One policy decided by the real `opa eval` and by Portcullis-compiled wasm,
 * rule by rule, exactly: each rule's value is compared as the JSON text
 * `json.marshal` makes of it inside the policy, so numbers beyond f64
 * (1e400, 2^64 + 1) are compared digit for digit, not through JavaScript
 * numbers. An error on either side is its OPA code.
 */
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { opaCodeOf } from '../../scripts/conformance/error-match.ts';
import { OpaEvaluator } from './opa-eval.ts';
import { toolPath } from './tools.ts';

export type Answers = Record<string, string | { error: string }>;

const PACKAGE = 'agreement';
const RULE = 'answer_';

/** `rules` maps a rule name to a Rego expression; `extra` is any further Rego (helper rules, functions). */
function module(rules: Record<string, string>, extra: string): string {
  // Prefixed, so that a rule may be named like a keyword or a helper rule of `extra`.
  const lines = Object.entries(rules).map(([name, expr]) => `${RULE}${name} := json.marshal([${expr}])`);
  return `package ${PACKAGE}\n\n${extra}\n\n${lines.join('\n')}\n`;
}

/** Each rule's marshalled value by `opa eval` (undefined rules absent), or the error of the whole document. */
export async function opaAnswers(rules: Record<string, string>, extra = '', input?: unknown, data?: Record<string, unknown>): Promise<Answers> {
  const out: Answers = {};
  const opa = new OpaEvaluator(toolPath('opa'), { concurrency: 1 });
  const src = module(rules, extra);
  for (const name of Object.keys(rules)) {
    const r = await opa.eval({ query: `data.${PACKAGE}.${RULE}${name}`, modules: [src], input, data, strictBuiltinErrors: true });
    if (r.kind === 'error') out[name] = { error: r.code };
    else if (r.results.length > 0) out[name] = r.results[0]!.expressions[0]!.value as string;
  }
  return out;
}

/** The same by Portcullis's compiler and engine (strict builtin errors). */
export async function portcullisAnswers(rules: Record<string, string>, extra = '', input?: unknown, data: Record<string, unknown> = {}): Promise<Answers> {
  const out: Answers = {};
  const names = Object.keys(rules);
  const bundle = await new PortcullisCompiler().compile({
    modules: [{ path: 'agreement.rego', source: module(rules, extra) }],
    data,
    entrypoints: names.map((n) => `${PACKAGE}/${RULE}${n}`),
    tools: [],
    tests: [],
  });
  const engine = new OpaWasmEngine({});
  await engine.load(bundle);
  for (const name of names) {
    try {
      const v = engine.evaluate(input, `${PACKAGE}/${RULE}${name}`).result;
      if (v !== undefined) out[name] = v as string;
    } catch (e) {
      out[name] = { error: opaCodeOf(e) ?? String(e) };
    }
  }
  return out;
}
