/** The engine settings in the configuration reach the policy engine the sidecar evaluates with. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startSidecar, send, type LoggingUpstream, type RunningSidecar } from './helpers.ts';
import { engineOptions, loadConfig } from '../../src/config/config.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { PortcullisCompiler } from '../../src/policy/compiler.ts';
import { ErrorCodes, isPortcullisError } from '../../src/errors.ts';
import type { CompiledBundle } from '../../src/policy/types.ts';

// Allows a call after counting pairs of numbers up to ?n: n² steps.
const POLICY = `package gate

default decision := {"effect": "deny", "reason": "no n"}

decision := {"effect": "allow", "reason": sprintf("%d pairs", [c])} if {
  n := to_number(input.action.http.query.n[0])
  c := count([1 | some x in numbers.range(1, n); some y in numbers.range(1, n)])
}

# A builtin error: strict mode fails the evaluation, non-strict makes the rule undefined.
# (Not \`not to_number(…) == 1\`: OPA evaluates a negated expression's calls before
# the not, so an undefined call fails that body in either mode.)
decision := {"effect": "allow", "reason": "lenient"} if {
  input.action.http.path == "/lenient"
  not unparsable
}

unparsable if to_number("not a number") == 1
`;

let upstream: LoggingUpstream;
let bundle: CompiledBundle;
const running: RunningSidecar[] = [];

before(async () => {
  upstream = await startUpstream();
  bundle = await new PortcullisCompiler().compile({ modules: [{ path: 'gate.rego', source: POLICY }], data: {}, entrypoints: ['gate/decision'], tools: [], tests: [] });
});
after(async () => {
  for (const s of running) await s.close();
  await upstream.close();
});

async function sidecarWith(env: Record<string, string>): Promise<RunningSidecar> {
  const engine = new OpaWasmEngine(engineOptions(loadConfig(env)));
  await engine.load(bundle);
  const s = await startSidecar({ engine }, {}, env);
  running.push(s);
  return s;
}

test('defaults: 10 million steps, strict builtin errors', () => {
  assert.deepEqual(engineOptions(loadConfig({})), { maxSteps: 10_000_000, strictBuiltinErrors: true });
  const c = loadConfig({ PORTCULLIS_POLICY_MAX_STEPS: '5000', PORTCULLIS_POLICY_STRICT_BUILTIN_ERRORS: 'FALSE' });
  assert.deepEqual(engineOptions(c), { maxSteps: 5000, strictBuiltinErrors: false });
});

test('invalid engine settings stop start-up, naming the setting', () => {
  for (const [name, raw] of [['PORTCULLIS_POLICY_MAX_STEPS', '0'], ['PORTCULLIS_POLICY_MAX_STEPS', String(2 ** 31)], ['PORTCULLIS_POLICY_MAX_STEPS', '1e6'], ['PORTCULLIS_POLICY_STRICT_BUILTIN_ERRORS', 'yes']] as const) {
    assert.throws(() => loadConfig({ [name]: raw }), (e) => isPortcullisError(e) && e.code === ErrorCodes.CONFIG && (e.details as { setting?: string }).setting === name, `${name}=${raw}`);
  }
});

test('a policy over the configured step budget is denied with POLICY_TIMEOUT (fail closed); the upstream never sees it', async () => {
  const s = await sidecarWith({ PORTCULLIS_POLICY_MAX_STEPS: '2000' });
  const small = await send(s.port, { path: `${upstream.origin}/small?n=10` });
  assert.equal(small.status, 200);
  const big = await send(s.port, { path: `${upstream.origin}/big?n=100` });
  assert.equal(big.status, 403);
  assert.equal(big.json().error.code, ErrorCodes.POLICY_TIMEOUT);
  assert.ok(!upstream.log.some((a) => a.url.startsWith('/big')));
  // The default budget lets the same call through.
  const roomy = await sidecarWith({});
  assert.equal((await send(roomy.port, { path: `${upstream.origin}/big?n=100` })).status, 200);
});

test('strict builtin errors deny the call; non-strict makes the failing builtin undefined', async () => {
  const strict = await sidecarWith({});
  const denied = await send(strict.port, { path: `${upstream.origin}/lenient` });
  assert.equal(denied.status, 403);
  assert.equal(denied.json().error.code, ErrorCodes.POLICY_EVAL);
  const lenient = await sidecarWith({ PORTCULLIS_POLICY_STRICT_BUILTIN_ERRORS: 'false' });
  const allowed = await send(lenient.port, { path: `${upstream.origin}/lenient` });
  assert.equal(allowed.status, 200);
});
