// Every runtime builtin called directly on build/runtime.wasm with
// table-driven cases (cases.ts), and a check that the compile-side table
// names only exports the runtime has.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadRuntime, BuiltinError, type Runtime } from './runtime-harness.ts';
import { STRING_CASES, COLLECTION_CASES, ENCODING_CASES, TIME_CASES, PATTERN_CASES, type Case } from './cases.ts';
import { BUILTINS, SDK_BUILTIN } from '../../../../src/policy/rego/builtins.ts';

let rt: Runtime;
before(async () => {
  rt = await loadRuntime();
});

function check([name, args, expect]: Case): void {
  let got: string | undefined;
  try {
    got = rt.callText(name, ...args);
  } catch (e) {
    if (!(e instanceof BuiltinError)) throw e;
    assert.ok('error' in expect, `${name}: unexpected error ${e.message}`);
    assert.ok(e.message.includes(expect.error), `${name}: error ${e.message} lacks ${expect.error}`);
    return;
  }
  if ('error' in expect) assert.fail(`${name}: want error ${expect.error}, got ${got}`);
  if ('undefined' in expect) assert.equal(got, undefined, name);
  else assert.equal(got, expect.json, `${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
}

for (const [title, cases] of [
  ['string and number builtins', STRING_CASES],
  ['collection and type builtins', COLLECTION_CASES],
  ['encoding, JSON and units builtins', ENCODING_CASES],
  ['time builtins', TIME_CASES],
  ['regex, glob and net builtins', PATTERN_CASES],
] as const) {
  describe(title, () => {
    for (const c of cases) it(`${c[0]} ${JSON.stringify(c[1]).slice(0, 60)}`, () => check(c));
  });
}

describe('builtin table', () => {
  it('names an existing runtime export with the right arity for every runtime builtin', () => {
    for (const [name, entry] of Object.entries(BUILTINS)) {
      if (entry.export === SDK_BUILTIN) continue;
      assert.ok(rt.has(name), `${name}: runtime has no ${entry.export}`);
    }
  });
});
