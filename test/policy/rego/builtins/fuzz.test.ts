// Every runtime builtin called with random arguments of every type: each
// call must return a value, undefined, or one of OPA's evaluation errors
// (eval_type_error, eval_builtin_error) — never trap, overrun memory or hit
// an internal error.
import { it, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadRuntime, BuiltinError, Num, type Runtime } from './runtime-harness.ts';
import { BUILTINS, SDK_BUILTIN } from '../../../../src/policy/rego/builtins.ts';
import { rng } from '../../../support/random.ts';

let rt: Runtime;
before(async () => {
  rt = await loadRuntime();
});


const STRINGS = ['', 'a', 'abc', 'a.b.c', '10.0.0.0/8', '::1', '1.2.3.4', '2024-01-02T03:04:05Z', '1h', '5KiB', '(a|b)*', '[', '*.x',
  'é😀', '%zz', 'aGk=', '{"a":1}', '-1', '1e400', 'x'.repeat(300), 'UTC', 'a/b', '\u0000', '${1}', '%v %d %s'];

function value(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 0 ? 9 : 6));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return [0, 1, -1, 2.5, 1e300, -7, 16, 1700000000000000000][Math.floor(r() * 8)];
    case 3: return new Num(['12345678901234567890', '-9223372036854775808', '0.1', '1e-5'][Math.floor(r() * 4)]!);
    case 4:
    case 5: return STRINGS[Math.floor(r() * STRINGS.length)];
    case 6: return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth - 1));
    case 7: return new Set(Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth - 1)));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) o[STRINGS[Math.floor(r() * STRINGS.length)]!] = value(r, depth - 1);
      return o;
    }
  }
}

it('never traps on arbitrary arguments', () => {
  const r = rng(424242);
  let calls = 0;
  for (const [name, entry] of Object.entries(BUILTINS)) {
    if (entry.export === SDK_BUILTIN) continue;
    for (let i = 0; i < 60; i++) {
      const args = Array.from({ length: entry.arity }, () => value(r, 2));
      try {
        rt.callText(name, ...args);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        const ok = e instanceof BuiltinError && /^eval_(type|builtin)_error: /.test(msg);
        assert.ok(ok, `${name}(${args.map((a) => JSON.stringify(a, (_k, v) => (v instanceof Set ? [...v] : v instanceof Num ? v.text : v))).join(', ')}): ${msg}`);
      }
      calls++;
    }
  }
  assert.ok(calls > 5000);
});
