import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { ErrorCodes, isPortcullisError } from '../../src/errors.ts';
import type { CompiledBundle } from '../../src/policy/types.ts';

const POLICY = `package budget

pairs := count([1 | some x in input.xs; some y in input.xs])

triples := count([1 | some x in input.xs; some y in input.xs; some z in input.xs])

ranged := count([i | some i in numbers.range(1, input.n); i % 7 == 0])

inc(x) := x + 1

calls := count([y | some x in input.xs; y := inc(x)])
`;

const ENTRYPOINTS = ['budget/pairs', 'budget/triples', 'budget/ranged', 'budget/calls'];

async function bundle(): Promise<CompiledBundle> {
  return new PortcullisCompiler().compile({
    modules: [{ path: 'budget.rego', source: POLICY }],
    data: {},
    entrypoints: ENTRYPOINTS,
    tools: [],
    tests: [],
  });
}

const xs = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function timeoutError(e: unknown): boolean {
  return isPortcullisError(e) && e.code === ErrorCodes.POLICY_TIMEOUT && /^evaluating "budget\/\w+" failed: eval_budget_exceeded/.test(e.message);
}

test('an evaluation over its step budget fails with POLICY_TIMEOUT; the next one starts with a full budget', async () => {
  const engine = new OpaWasmEngine({ maxSteps: 1_000 });
  await engine.load(await bundle());
  assert.equal(engine.evaluate({ xs: xs(20) }, 'budget/pairs').result, 400);
  assert.throws(() => engine.evaluate({ xs: xs(40) }, 'budget/pairs'), timeoutError);
  assert.equal(engine.evaluate({ xs: xs(20) }, 'budget/pairs').result, 400);
  assert.equal(engine.evaluate({ xs: xs(20) }, 'budget/pairs').result, 400);
});

test('iterating a large numbers.range and calling functions count against the budget', async () => {
  const engine = new OpaWasmEngine({ maxSteps: 10_000 });
  await engine.load(await bundle());
  assert.equal(engine.evaluate({ n: 700 }, 'budget/ranged').result, 100);
  assert.throws(() => engine.evaluate({ n: 50_000 }, 'budget/ranged'), timeoutError);
  // 4,000 iterations and 4,000 calls fit; 6,000 of each do not.
  assert.equal(engine.evaluate({ xs: xs(4_000) }, 'budget/calls').result, 4_000);
  assert.throws(() => engine.evaluate({ xs: xs(6_000) }, 'budget/calls'), timeoutError);
});

test('the default budget (10 million steps) stops a nested scan over a large input', async () => {
  const engine = new OpaWasmEngine();
  await engine.load(await bundle());
  assert.equal(engine.evaluate({ xs: xs(50) }, 'budget/triples').result, 125_000);
  assert.throws(() => engine.evaluate({ xs: xs(300) }, 'budget/triples'), timeoutError);
});

test('maxSteps must be a positive 32-bit integer', () => {
  for (const maxSteps of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
    assert.throws(() => new OpaWasmEngine({ maxSteps }), (e: unknown) => isPortcullisError(e) && e.code === ErrorCodes.CONFIG);
  }
});
