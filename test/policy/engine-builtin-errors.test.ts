import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { ErrorCodes, isPortcullisError } from '../../src/errors.ts';
import type { CompiledBundle } from '../../src/policy/types.ts';

// The type check cannot see these errors: the operands come from the input.
const POLICY = `package errs

bytes := units.parse_bytes(input.size)

size := count(input.items)

unparsable if not units.parse_bytes(input.size)

default conflict := 0

conflict := x if some x in input.values
`;

async function bundle(): Promise<CompiledBundle> {
  return new PortcullisCompiler().compile({
    modules: [{ path: 'errs.rego', source: POLICY }],
    data: {},
    entrypoints: ['errs/bytes', 'errs/size', 'errs/unparsable', 'errs/conflict'],
    tools: [],
    tests: [],
  });
}

const code = (c: string) => (e: unknown) => isPortcullisError(e) && e.code === c;

test('by default a builtin error ends the evaluation with POLICY_EVAL (fails closed)', async () => {
  const engine = new OpaWasmEngine();
  await engine.load(await bundle());
  assert.equal(engine.evaluate({ size: '10KB' }, 'errs/bytes').result, 10_000);
  assert.throws(() => engine.evaluate({ size: 'foo' }, 'errs/bytes'), (e: unknown) => code(ErrorCodes.POLICY_EVAL)(e) && /eval_builtin_error: units\.parse_bytes/.test((e as Error).message));
  assert.throws(() => engine.evaluate({ items: 4 }, 'errs/size'), (e: unknown) => code(ErrorCodes.POLICY_EVAL)(e) && /eval_type_error: count/.test((e as Error).message));
  assert.throws(() => engine.evaluate({ size: 'foo' }, 'errs/unparsable'), code(ErrorCodes.POLICY_EVAL));
});

test('with strictBuiltinErrors false a builtin error makes the call undefined, as OPA by default', async () => {
  const engine = new OpaWasmEngine({ strictBuiltinErrors: false });
  await engine.load(await bundle());
  assert.equal(engine.evaluate({ size: 'foo' }, 'errs/bytes').result, undefined);
  assert.equal(engine.evaluate({ items: 4 }, 'errs/size').result, undefined);
  assert.equal(engine.evaluate({ size: 'foo' }, 'errs/unparsable').result, true);
  assert.equal(engine.evaluate({ size: '1KiB' }, 'errs/unparsable').result, undefined);
  assert.equal(engine.evaluate({ size: '10KB' }, 'errs/bytes').result, 10_000);
  // Errors raised by the policy itself are never swallowed.
  assert.throws(() => engine.evaluate({ values: [1, 2] }, 'errs/conflict'), code(ErrorCodes.POLICY_CONFLICT));
});
