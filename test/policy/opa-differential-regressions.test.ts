// Reproductions kept from the differential fuzzer and from OPA disagreements
// found beside it: each must stay equal to opa eval (same judge as the
// fuzzer: Portcullis against `opa eval`, with OPA's own second opinions).
// Add a shrunk reproduction here when the fuzzer finds one, with the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpaCliCompiler } from '../../src/policy/compiler.ts';
import { OpaEvaluator } from '../support/opa-eval.ts';
import { toolPath } from '../support/tools.ts';
import { SandboxedWasm } from '../support/fuzz/sandboxed-wasm.ts';
import { describeDifference, judge, type Opa } from '../support/fuzz/differential.ts';

interface Reproduction {
  name: string;
  module: string;
  data?: Record<string, unknown>;
  input: unknown;
}

const REPRODUCTIONS: Reproduction[] = [
  {
    name: 'future.keywords.not keeps nested calls under the not',
    module: `package fz

import future.keywords.not

f(x) := true if x == 1

g(x) := x

decision := {"effect": "allow", "reason": "no tool"} if not f(g(input.action.tool))
`,
    input: { user: {} },
  },
  {
    name: 'not { … } negates a body and reads the variables bound before it',
    module: `package fz

import future.keywords.not

decision := {"effect": "deny", "reason": r} if {
	r := "blocked"
	not {
		some role in input.user.roles
		role == "admin"
	}
}
`,
    input: { user: { roles: ['dev'] } },
  },
  {
    name: 'a ref head with a variable and a fixed one build one set',
    module: `package fz

deny[k] contains v if {
	some k, v in input.user.roles
}

deny.fs contains "write"
`,
    input: { user: { roles: { fs: 'read', net: 'all' } } },
  },
  {
    name: 'numbers beyond f64 compare and print as OPA has them',
    module: `package fz

decision := {"effect": "escalate", "reason": sprintf("%v|%v", [1e400, 0.1234567890123456789])} if {
	1e400 > 1e399
	1e-400 > 0
	0.1234567890123456789 < 0.1234567890123456790
	18446744073709551617 % 18446744073709551616 == 1
}
`,
    input: {},
  },
  {
    name: 'tool arguments checked against a JSON Schema',
    module: `package fz

schema := {"type": "object", "required": ["path"], "properties": {"path": {"type": "string", "pattern": "^/tmp/"}}, "additionalProperties": false}

decision := {"effect": "deny", "reason": concat("; ", sort([e.error | some e in result[1]]))} if {
	result := json.match_schema(input.action.mcp.arguments, schema)
	not result[0]
}
`,
    input: { action: { mcp: { arguments: { path: '/etc/passwd', mode: 1 } } } },
  },
  {
    // PORTCULLIS_FUZZ_SEED=7 PORTCULLIS_FUZZ_CASE=159: abs(1e400) kept the exponent form, OPA writes the digits.
    name: 'abs of an integer written with an exponent',
    module: `package fz

decision := {"effect": "allow", "reason": json.marshal([0.1234567890123456790, abs(1e400)])} if {
	some e4 in ["initialize", "denied", "secret-key"]
}
`,
    input: {},
  },
  {
    // PORTCULLIS_FUZZ_SEED=7 PORTCULLIS_FUZZ_CASE=4525: a null document was a mismatch ([false, …]); OPA raises an error.
    name: 'json.match_schema of a null document',
    module: `package fz

default decision := {"effect": "deny", "reason": "default"}

decision := {"effect": "allow", "reason": "é"} if {
	not json.match_schema(input.user, {"type": "object", "minProperties": 2})[0]
}
`,
    input: { user: null },
  },
];

test('kept reproductions agree with opa eval', async (t) => {
  const binary = toolPath('opa');
  const opa: Opa = { eval: new OpaEvaluator(binary, { concurrency: 1 }), build: new OpaCliCompiler(binary), wasm: new SandboxedWasm() };
  t.after(() => opa.wasm.close());
  for (const r of REPRODUCTIONS) {
    const c = { module: r.module, data: r.data ?? {}, input: r.input };
    const v = await judge(opa, c);
    if (v.difference) assert.fail(describeDifference(c, v, r.name));
    assert.equal(v.ours.kind, 'value', `${r.name}: ${JSON.stringify(v.ours)}`);
  }
});
