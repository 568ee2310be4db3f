// `with` cases of OPA's suite that Portcullis got wrong: a replacement that
// changes from one iteration to the next (rule values remembered under the
// first were reused), replacing an arity-0 builtin, and replacing a builtin
// Portcullis does not implement (http.send), which stays a compile error
// naming it wherever no `with` replaces it. Answers as opa eval gives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opaAnswers, portcullisAnswers } from '../../../support/opa-agreement.ts';
import { PortcullisCompiler } from '../../../../src/policy/compiler.ts';

const POLICY = `
f(1) = 2
by_scan if {
	some v in numbers.range(1, 10)
	q with f as v
}
q if r
r if f(1) == 10

by_scan_builtin if {
	some v in numbers.range(1, 10)
	counted with count as v
}
counted if count([]) == 10

invalidated contains x if {
	some x in [1, 2, 3, 4]
	not input_eq with input.x as x
}
input_eq if input.x == 1

pass_resp := {"body": {"roles": ["admin"]}}
deny_resp := {"body": {"roles": []}}
mock_http_send(req) := pass_resp if {
	req.body.name == "alice"
} else := deny_resp
test_allow if {
	allow with http.send as mock_http_send with input.name as "alice"
}
test_deny if {
	allow with http.send as mock_http_send with input.name as "bob"
}
allow if {
	"admin" in http.send({"method": "GET", "body": input}).body.roles
}
`;

test('replacements that change per iteration, and a replaced builtin Portcullis does not implement', async () => {
  const rules = { by_scan: 'by_scan', by_scan_builtin: 'by_scan_builtin', invalidated: 'invalidated', test_allow: 'test_allow', test_deny: 'test_deny' };
  const [opa, ours] = await Promise.all([opaAnswers(rules, POLICY), portcullisAnswers(rules, POLICY)]);
  assert.deepEqual(ours, opa);
  assert.deepEqual(ours, { by_scan: '[true]', by_scan_builtin: '[true]', invalidated: '[[2,3,4]]', test_allow: '[true]' });
});

test('opa.runtime replacing an arity-0 builtin: the empty object OPA gives without runtime information', async () => {
  const ours = await portcullisAnswers({ x: 'x' }, 'x := y if { y = time.now_ns() with time.now_ns as opa.runtime }');
  assert.deepEqual(ours, { x: '[{}]' });
});

test('http.send that no with replaces is a compile error naming it', async () => {
  const source = 'package t\n\nallow if http.send({"method": "GET", "url": "http://x"}).status_code == 200\n';
  await assert.rejects(
    new PortcullisCompiler().compile({ modules: [{ path: 'p.rego', source }], data: {}, entrypoints: ['t/allow'], tools: [], tests: [] }),
    (e: Error & { code?: string }) => e.code === 'PORTCULLIS_REGO_UNSUPPORTED_BUILTIN' && /undefined function http\.send/.test(e.message),
  );
});
