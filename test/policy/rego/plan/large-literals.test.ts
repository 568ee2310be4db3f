// A policy holding a large literal (OPA's json_patch_tests case has a few
// hundred nested objects) compiles without exhausting the stack: literals
// are planned in a loop, not one continuation per element.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortcullisCompiler } from '../../../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../../../src/policy/engine.ts';

test('a rule whose value is a literal of 3,000 nested objects compiles and evaluates', async () => {
  const items = Array.from({ length: 3_000 }, (_, i) => `{"op": "add", "path": "/a/${i}", "value": [${i}, {"k": null}]}`);
  const source = `package big\n\ncases := [\n${items.join(',\n')}\n]\n\nn := count(cases) if input.go\n`;
  const bundle = await new PortcullisCompiler().compile({ modules: [{ path: 'big.rego', source }], data: {}, entrypoints: ['big/n'], tools: [], tests: [] });
  const engine = new OpaWasmEngine({});
  await engine.load(bundle);
  assert.equal(engine.evaluate({ go: true }, 'big/n').result, 3_000);
});
