import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortcullisCompiler, OpaCliCompiler, selectCompiler } from '../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../src/policy/engine.ts';
import { readBundleDir } from '../../src/policy/bundle-dir.ts';
import { ErrorCodes } from '../../src/errors.ts';
import type { BundleSource } from '../../src/policy/types.ts';
import { echoPolicyWasm } from '../../bench/fixtures/echo-wasm.ts';
import { toolPath } from '../support/tools.ts';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

const POLICY = `package portcullis

default decision := {"effect": "deny", "reason": "not listed"}

decision := {"effect": "allow", "reason": "listed"} if input.tool in data.allowed
`;

function source(rego = POLICY, data: Record<string, unknown> = { allowed: ['fs'] }): BundleSource {
  return { modules: [{ path: 'policy.rego', source: rego }], data, entrypoints: ['portcullis/decision'], tools: [], tests: [] };
}

/** A tool-call policy using what policies commonly do: else chains, sets, comprehensions, every, functions, string builtins. */
const TOOL_CALL_POLICY = `package portcullis

default decision := {"effect": "deny", "reason": "no rule matched"}

decision := {"effect": "deny", "reason": concat("; ", sort(violations))} if {
	count(violations) > 0
} else := {"effect": "escalate", "reason": sprintf("amount %v is above %v", [amount, data.limits.amount])} if {
	input.action.tool == "payments"
	amount > data.limits.amount
} else := {"effect": "allow", "reason": "read-only arguments"} if {
	every name in object.keys(args) { name in data.read_args }
	startswith(input.action.name, "read_")
} else := {"effect": "allow", "reason": "small payment"} if {
	input.action.tool == "payments"
}

amount := object.get(input, ["action", "arguments", "amount"], 0)

args := object.get(input, ["action", "arguments"], {})

paths := {p | some k, p in args; endswith(k, "path")}

violations contains sprintf("path %s is protected", [p]) if {
	some p in paths
	protected(p)
}

violations contains "unknown tool" if not input.action.tool in data.tools

violations contains msg if {
	some label in input.context.labels
	regex.match(\`^(secret|pii)-\`, label)
	msg := concat(" ", ["label", lower(label)])
}

protected(p) if glob.match("/prod/**", ["/"], p)

protected(p) if startswith(p, "/etc/")
`;

const TOOL_CALL_DATA = { tools: ['fs', 'payments'], limits: { amount: 100 }, read_args: ['path', 'encoding'] };

const TOOL_CALL_INPUTS: unknown[] = [
  { action: { tool: 'fs', name: 'read_file', arguments: { path: '/tmp/a' } } },
  { action: { tool: 'fs', name: 'read_file', arguments: { path: '/prod/db/conf' } } },
  { action: { tool: 'fs', name: 'write_file', arguments: { path: '/tmp/a', content: 'x' } } },
  { action: { tool: 'fs', name: 'read_file', arguments: { src_path: '/etc/passwd', encoding: 'utf8' } } },
  { action: { tool: 'payments', name: 'charge', arguments: { amount: 250 } } },
  { action: { tool: 'payments', name: 'charge', arguments: { amount: 99.5 } } },
  { action: { tool: 'payments', name: 'charge', arguments: { amount: '250' } } },
  { action: { tool: 'shell', name: 'run' }, context: { labels: ['PII-x', 'pii-email', 'secret-key'] } },
  { action: { tool: 'fs', name: 'read_file', arguments: {} }, context: { labels: ['public'] } },
  { action: { tool: 'fs', name: 'read_file', arguments: { path: 7 } } },
  // No tool at all: `not input.action.tool in data.tools` is undefined, not true (OPA lifts the argument out of the `not`).
  {},
];

function withApproval(input: unknown, approval: unknown): unknown {
  const i = (input ?? {}) as { context?: Record<string, unknown> };
  return { ...i, context: { ...i.context, approval } };
}

/**
 * Compiles the source with the real `opa build -t wasm` and with Portcullis's
 * compiler, loads both modules in our engine, and requires equal answers on
 * every input and entrypoint (or the same error code). `expected` lists
 * outcomes (effects, or whole values) the inputs must reach, so that the
 * comparison is not between two constant answers. Returns the effects of the
 * default entrypoint in input order.
 */
async function assertSameDecisions(opa: string, s: BundleSource, inputs: unknown[], expected: unknown[]): Promise<unknown[]> {
  const byOpa = await new OpaCliCompiler(opa).compile(s);
  const ours = await new PortcullisCompiler().compile(s);
  assert.equal(byOpa.compiler, 'opa');
  assert.notEqual(byOpa.digest, ours.digest, 'two different compilers made these modules');
  // Modules from `opa build` make a failing builtin undefined (they have no
  // strict switch); ours are told to do the same, so that semantics compare.
  const opaEngine = new OpaWasmEngine({ strictBuiltinErrors: false });
  const ourEngine = new OpaWasmEngine({ strictBuiltinErrors: false });
  await opaEngine.load(byOpa);
  await ourEngine.load(ours);
  const outcome = (engine: OpaWasmEngine, input: unknown, entrypoint: string): unknown => {
    try {
      return { result: engine.evaluate(input, entrypoint).result };
    } catch (e) {
      return { error: (e as { code?: string }).code };
    }
  };
  const seen: unknown[] = [];
  for (const entrypoint of s.entrypoints) {
    for (const input of inputs) {
      const want = outcome(opaEngine, input, entrypoint);
      assert.deepEqual(outcome(ourEngine, input, entrypoint), want, `${entrypoint} on ${JSON.stringify(input)}`);
      if (entrypoint === s.entrypoints[0]) seen.push(effectOf(want));
    }
  }
  for (const e of expected) assert.ok(seen.some((x) => JSON.stringify(x) === JSON.stringify(e)), `no input reached ${JSON.stringify(e)}`);
  return seen;
}

/** The effect of a decision, or the whole outcome when it is not a decision (undefined, an error). */
function effectOf(outcome: unknown): unknown {
  const result = (outcome as { result?: { effect?: unknown } }).result;
  return typeof result?.effect === 'string' ? result.effect : outcome;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-compiler-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('Portcullis compiler: Rego in, a bundle the engine evaluates out', async () => {
  const bundle = await new PortcullisCompiler().compile(source());
  assert.equal(bundle.compiler, 'portcullis');
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  assert.deepEqual(engine.evaluate({ tool: 'fs' }).result, { effect: 'allow', reason: 'listed' });
  assert.deepEqual(engine.evaluate({ tool: 'shell' }).result, { effect: 'deny', reason: 'not listed' });
});

test('the digest is stable for the same bundle and changes with the data', async () => {
  const compiler = new PortcullisCompiler();
  const a = await compiler.compile(source());
  const b = await compiler.compile(source());
  const c = await compiler.compile(source(POLICY, { allowed: ['fs', 'shell'] }));
  assert.equal(a.digest, b.digest);
  assert.notEqual(a.digest, c.digest);
  assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
});

test('a failed compile never replaces the loaded bundle', async () => {
  const compiler = new PortcullisCompiler();
  const engine = new OpaWasmEngine();
  const good = await compiler.compile(source());
  await engine.load(good);
  const reload = async (s: BundleSource) => engine.load(await compiler.compile(s));
  await assert.rejects(reload(source('package portcullis\n\ndecision := {\n')), code(ErrorCodes.REGO_PARSE));
  await assert.rejects(reload(source('package portcullis\n\ndecision := x if { input.a == 1 }\n')), code(ErrorCodes.REGO_UNSAFE_VAR));
  assert.equal(engine.current(), good);
  assert.deepEqual(engine.evaluate({ tool: 'fs' }).result, { effect: 'allow', reason: 'listed' });
});

test('selectCompiler: PORTCULLIS_COMPILER and PATH decide', async () => {
  assert.equal((await selectCompiler({ PATH: '', PORTCULLIS_COMPILER: 'portcullis' })).name, 'portcullis');
  assert.equal((await selectCompiler({ PATH: '' })).name, 'portcullis');
  await assert.rejects(selectCompiler({ PATH: '', PORTCULLIS_COMPILER: 'opa' }), code(ErrorCodes.CONFIG));
  await assert.rejects(selectCompiler({ PATH: '', PORTCULLIS_COMPILER: 'gcc' }), code(ErrorCodes.CONFIG));
  const fake = join(dir, 'bin');
  await import('node:fs/promises').then((fs) => fs.mkdir(fake, { recursive: true }));
  await writeFile(join(fake, 'opa'), '#!/bin/sh\nexit 1\n');
  await chmod(join(fake, 'opa'), 0o755);
  assert.equal((await selectCompiler({ PATH: fake })).name, 'opa');
  assert.equal((await selectCompiler({ PATH: fake, PORTCULLIS_COMPILER: 'portcullis' })).name, 'portcullis');
});

test('OPA CLI adapter: arguments and bundle extraction (with a stand-in opa)', async () => {
  // The stand-in records its arguments and writes a bundle holding a known wasm module, as `opa build` does.
  const wasmPath = join(dir, 'known.wasm');
  await writeFile(wasmPath, echoPolicyWasm());
  const script = join(dir, 'fake-opa');
  await writeFile(
    script,
    `#!/bin/sh\necho "$@" > "${dir}/args"\nout=""\nwhile [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done\n` +
      `work=$(mktemp -d)\ncp "${wasmPath}" "$work/policy.wasm"\ntar czf "$out" -C "$work" policy.wasm\nrm -rf "$work"\n`,
  );
  await chmod(script, 0o755);
  const s = { ...source(), entrypoints: ['echo/input', 'echo/data'] };
  const bundle = await new OpaCliCompiler(script).compile(s);
  assert.equal(bundle.compiler, 'opa');
  const args = (await readFile(join(dir, 'args'), 'utf8')).trim().split(' ');
  assert.deepEqual(args.slice(0, 7), ['build', '-t', 'wasm', '-e', 'echo/input', '-e', 'echo/data']);
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  assert.deepEqual(engine.evaluate({}, 'echo/data').result, { allowed: ['fs'] });

  const failing = join(dir, 'failing-opa');
  await writeFile(failing, '#!/bin/sh\necho "1 error occurred: policy.rego:3: rego_parse_error: bad" >&2\nexit 1\n');
  await chmod(failing, 0o755);
  await assert.rejects(new OpaCliCompiler(failing).compile(s), code(ErrorCodes.REGO_COMPILE));
});

test('OPA CLI adapter with the real opa: its wasm, in our engine, decides as Portcullis-compiled wasm does', async () => {
  const opa = toolPath('opa');
  const inputs = [{ tool: 'fs' }, { tool: 'shell' }, { tool: 1 }, {}, { tool: ['fs'] }];
  await assertSameDecisions(opa, source(), inputs, ['allow', 'deny']);
  await assertSameDecisions(opa, source(TOOL_CALL_POLICY, TOOL_CALL_DATA), TOOL_CALL_INPUTS, ['allow', 'deny', 'escalate']);
  // OPA's own explanation reaches the error (opa build prints it on stdout).
  await assert.rejects(
    new OpaCliCompiler(opa).compile(source('package portcullis\n\ndecision := {\n')),
    (e: { code?: string; message: string }) => e.code === ErrorCodes.REGO_COMPILE && /policy\.rego:\d+: rego_parse_error/.test(e.message),
  );
});

test('OPA CLI adapter with the real opa: the shipped policies decide alike on their own tests and variants of them', async () => {
  const shipped = await readBundleDir(join(import.meta.dirname, '..', '..', 'policies'));
  assert.ok(shipped.tests.length >= 10, 'the shipped bundle has its test cases');
  // Each test input also with an approval granted and refused: the escalation paths.
  const inputs = shipped.tests.flatMap(({ input }) => [
    input,
    withApproval(input, { verdict: 'approved' }),
    withApproval(input, { verdict: 'denied' }),
  ]);
  const effects = await assertSameDecisions(toolPath('opa'), shipped, inputs, ['allow', 'deny', 'escalate', 'compute']);
  // The shipped tests' own expectations hold for the opa-built wasm too.
  for (const [i, t] of shipped.tests.entries()) assert.equal(effects[3 * i], t.want.effect, t.name);
});

test('real Rego: swapping bundles under concurrent evaluation never mixes them', async () => {
  const compiler = new PortcullisCompiler();
  const v1 = await compiler.compile(source(POLICY.replace('"listed"', '"listed v1"')));
  const v2 = await compiler.compile(source(POLICY.replace('"listed"', '"listed v2"')));
  const engine = new OpaWasmEngine();
  await engine.load(v1);
  const seen: string[] = [];
  let running = true;
  const evaluations = (async () => {
    while (running) {
      const r = engine.evaluate({ tool: 'fs' });
      const reason = (r.result as { reason: string }).reason;
      assert.equal(r.digest, reason === 'listed v1' ? v1.digest : v2.digest);
      seen.push(reason);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  await engine.load(v2);
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  running = false;
  await evaluations;
  assert.equal(seen[0], 'listed v1');
  assert.equal(seen.at(-1), 'listed v2');
  assert.ok(!seen.slice(seen.indexOf('listed v2')).includes('listed v1'));
});

test('time.now_ns: the input context.time when there is one, else the engine clock', async () => {
  const bundle = await new PortcullisCompiler().compile({
    ...source('package portcullis\n\nnow := time.now_ns()\n\nsame if time.now_ns() == time.now_ns()\n'),
    entrypoints: ['portcullis/now', 'portcullis/same'],
  });
  const engine = new OpaWasmEngine({ clock: () => 1_700_000_000_123_000_000n });
  await engine.load(bundle);
  assert.equal(engine.evaluate({}).result, Number(1_700_000_000_123_000_000n));
  const at = engine.evaluate({ context: { time: '2026-11-24T10:00:00.5Z' } }).result;
  assert.equal(at, Date.parse('2026-11-24T10:00:00.5Z') * 1e6);
  assert.equal(engine.evaluate({}, 'portcullis/same').result, true);
});

test('instantOf keeps the sub-millisecond digits of context.time', async () => {
  const { instantOf } = await import('../../src/policy/engine.ts');
  assert.equal(instantOf({ context: { time: '2026-11-24T10:00:00.123456789Z' } }), BigInt(Date.parse('2026-11-24T10:00:00.123Z')) * 1_000_000n + 456_789n);
  assert.equal(instantOf({ context: { time: 'not a time' } }), undefined);
  assert.equal(instantOf(undefined), undefined);
});
